import { echo } from '../common/errors.js';
import type { StartJobRequest } from '../gen/baton/v1/worker.js';

/**
 * Pure checks of a StartJob request's shape, before any file system look-up.
 * Each returns a sentence for the caller, or undefined when the request is fine.
 */

// The job id names the output file, so it must be a plain file name (UUIDv7 ids pass).
const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
// POSIX environment names; '=' or NUL in a name would make spawn throw.
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function startRequestProblem(request: StartJobRequest): string | undefined {
  if (request.jobId === '') return 'job_id is empty: the scheduler must assign one';
  if (!JOB_ID.test(request.jobId)) {
    return `job_id "${echo(request.jobId)}" is not valid: use up to 128 letters, digits, ".", "_" or "-"`;
  }
  if (request.command.trim() === '') return 'command is empty: give a program to run, such as "bash"';
  if (request.command.includes('\0')) return 'command contains a NUL byte';
  if (request.args.some((arg) => arg.includes('\0'))) return 'an argument contains a NUL byte';
  // setTimeout holds at most 2^31-1 ms (24.8 days); the scheduler allows a day.
  if (!Number.isSafeInteger(request.timeoutMs) || request.timeoutMs < 0 || request.timeoutMs > 2 ** 31 - 1) {
    return `timeout_ms ${request.timeoutMs} is not valid: use a whole number of milliseconds up to 24 days (0: none)`;
  }
  const r = request.resources;
  if (r !== undefined) {
    if (!Number.isFinite(r.cpu) || r.cpu < 0) return 'resources.cpu must be a positive number of CPUs';
    if (!Number.isSafeInteger(r.memoryBytes) || r.memoryBytes < 0) return 'resources.memory_bytes must be a whole number of bytes';
    if (!Number.isSafeInteger(r.readBps) || r.readBps < 0) return 'resources.read_bps must be a whole number of bytes a second';
    if (!Number.isSafeInteger(r.writeBps) || r.writeBps < 0) return 'resources.write_bps must be a whole number of bytes a second';
  }
  for (const [name, value] of Object.entries(request.env)) {
    if (!ENV_NAME.test(name)) return `environment variable name "${echo(name)}" is not valid: use letters, digits and "_"`;
    if (value.includes('\0')) return `environment variable ${echo(name)} contains a NUL byte`;
  }
  return undefined;
}

export const FALLBACK_PATH = '/usr/local/bin:/usr/bin:/bin';

/** The job's user, whose HOME/USER/LOGNAME replace the worker's (when those names are allowed). */
export interface JobUser {
  user: string;
  home: string;
}

/**
 * The environment a job runs with: only the allow-listed variables of the worker's own
 * environment (its tokens, keys and cloud credentials must not leak into the commands it
 * runs), PATH always (a fallback when the worker has none), the job's id, then what the
 * job asked for.
 */
export function jobEnvironment(workerEnv: NodeJS.ProcessEnv, allow: readonly string[], jobId: string, jobEnv: Record<string, string>, user?: JobUser): Record<string, string> {
  const env: Record<string, string> = { PATH: FALLBACK_PATH };
  for (const name of allow) {
    const value = workerEnv[name];
    if (value !== undefined) env[name] = value;
  }
  if (user) {
    if (allow.includes('HOME')) env.HOME = user.home;
    if (allow.includes('USER')) env.USER = user.user;
    if (allow.includes('LOGNAME')) env.LOGNAME = user.user;
  }
  return { ...env, BATON_JOB_ID: jobId, ...jobEnv };
}
