import path from 'node:path';
import { BatonError, echo } from '../common/errors.js';
import { isExecutable, type JobsFolder } from './jobs-folder.js';

// Searching PATH costs several stat calls per start; programs rarely appear or vanish,
// so an answer is reused for a few seconds (a newly installed command is seen soon after).
const CACHE_TTL_MS = 5_000;
const CACHE_MAX_ENTRIES = 1_000;

/** Turns a job's command into the absolute program to spawn, or refuses it. */
export class CommandLookup {
  private readonly cache = new Map<string, { program: string | undefined; expiresAt: number }>();

  constructor(private readonly jobsFolder: JobsFolder) {}

  /** `searchPath` is the PATH the job will run with. */
  async resolve(command: string, searchPath: string): Promise<string> {
    if (command.includes('/')) return this.jobsFolder.resolveExecutable(command);
    const program = await this.searchPath(command, searchPath);
    if (program === undefined) throw new BatonError('COMMAND_NOT_FOUND', `command not found: ${echo(command)}`);
    return program;
  }

  private async searchPath(command: string, searchPath: string): Promise<string | undefined> {
    const key = `${searchPath}\0${command}`;
    const now = Date.now();
    const hit = this.cache.get(key);
    if (hit && hit.expiresAt > now) return hit.program;
    let program: string | undefined;
    for (const dir of searchPath.split(':')) {
      // An empty PATH entry means the current directory; jobs do not get that.
      if (!path.isAbsolute(dir)) continue;
      const candidate = path.join(dir, command);
      if (await isExecutable(candidate)) {
        program = candidate;
        break;
      }
    }
    if (this.cache.size >= CACHE_MAX_ENTRIES) this.cache.clear();
    this.cache.set(key, { program, expiresAt: now + CACHE_TTL_MS });
    return program;
  }
}
