/**
 * The cgroup I/O: reading what the machine has, creating a job's cgroup folder(s) with its
 * limits, and at the job's end counting OOM kills, killing whatever is left in it (which
 * also catches processes that called setsid and left the job's process group) and
 * removing the folders. The decisions are in ./cgroup-layout.ts.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import {
  availableControllers,
  chooseCgroups,
  jobCgroupDirs,
  limitWrites,
  oomKills,
  workerCgroupDir,
  CONTROLLERS,
  type CgroupChoice,
  type CgroupV1,
  type CgroupV2,
  type Controller,
} from './cgroup-layout.js';
import type { Limits } from './limits.js';

const KILL_ROUNDS = 100;
const KILL_ROUND_MS = 20;
const RMDIR_TRIES = 25;

async function readOr(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What this machine offers, read once at startup. */
export async function detectCgroups(): Promise<CgroupChoice> {
  const mounts = (await readOr('/proc/self/mounts')) ?? '';
  const selfCgroup = (await readOr('/proc/self/cgroup')) ?? '';
  const v2Controllers: Record<string, string> = {};
  for (const line of mounts.split('\n')) {
    const f = line.split(' ');
    if (f[2] !== 'cgroup2' || f[1] === undefined) continue;
    const text = await readOr(path.join(f[1], 'cgroup.controllers'));
    if (text !== undefined) v2Controllers[f[1]] = text;
  }
  return chooseCgroups({ mounts, selfCgroup, v2Controllers });
}

/** One job's cgroup folder(s). */
export class JobCgroup {
  private released: Promise<{ oomKills: number }> | undefined;

  constructor(
    private readonly version: 1 | 2,
    readonly dirs: string[],
    /** The folder holding memory.* files, when memory is limited. */
    private readonly memoryDir: string | undefined,
  ) {}

  /** What a later worker process needs to take the cgroup back (kept by the supervisor with the job). */
  toRecord(): { version: 1 | 2; dirs: string[]; memoryDir?: string } {
    return { version: this.version, dirs: this.dirs, ...(this.memoryDir === undefined ? {} : { memoryDir: this.memoryDir }) };
  }

  static fromRecord(record: { version: 1 | 2; dirs: string[]; memoryDir?: string }): JobCgroup {
    return new JobCgroup(record.version, record.dirs, record.memoryDir);
  }

  /** The files the launch wrapper writes its pid into. */
  get procsFiles(): string[] {
    return this.dirs.map((d) => path.join(d, 'cgroup.procs'));
  }

  /** OOM kills counted, then every process left is SIGKILLed and the folders removed. Idempotent. */
  release(): Promise<{ oomKills: number }> {
    return (this.released ??= this.doRelease());
  }

  private async doRelease(): Promise<{ oomKills: number }> {
    let kills = 0;
    if (this.memoryDir !== undefined) {
      if (this.version === 1) {
        kills = oomKills(1, await readOr(path.join(this.memoryDir, 'memory.oom_control')), await readOr(path.join(this.memoryDir, 'memory.failcnt')));
      } else {
        kills = oomKills(2, await readOr(path.join(this.memoryDir, 'memory.events')));
      }
    }
    await killAll(this.version, this.dirs);
    for (const dir of this.dirs) await removeDir(dir);
    return { oomKills: kills };
  }
}

/** SIGKILL to every process in the folders until they are empty (a fork loop may add some while we kill). */
async function killAll(version: 1 | 2, dirs: string[]): Promise<void> {
  if (version === 2) {
    for (const dir of dirs) await fs.writeFile(path.join(dir, 'cgroup.kill'), '1').catch(() => undefined);
  }
  for (let round = 0; round < KILL_ROUNDS; round++) {
    const pids = new Set<number>();
    for (const dir of dirs) {
      const text = (await readOr(path.join(dir, 'cgroup.procs'))) ?? '';
      for (const p of text.split('\n')) if (p.trim() !== '') pids.add(Number(p));
    }
    if (pids.size === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // ESRCH: already gone
      }
    }
    await sleep(KILL_ROUND_MS);
  }
}

async function removeDir(dir: string): Promise<void> {
  for (let i = 0; i < RMDIR_TRIES; i++) {
    try {
      await fs.rmdir(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      // EBUSY: the last killed processes are still being reaped.
      await sleep(KILL_ROUND_MS);
    }
  }
}

/** The cgroups of one worker: `<base>/baton/<worker-id>/<job-id>` in each hierarchy it needs. */
export class Cgroups {
  private readonly prepared = new Set<string>();

  constructor(
    readonly choice: CgroupV1 | CgroupV2,
    private readonly workerId: string,
    /** "major:minor" of the disks I/O limits apply to. */
    readonly ioDevices: readonly string[] = [],
  ) {}

  get controllers(): Controller[] {
    return availableControllers(this.choice);
  }

  get description(): string {
    if (this.choice.version === 2) return `cgroup v2 at ${this.choice.base} (${this.controllers.join(', ')})`;
    return `cgroup v1 (${CONTROLLERS.filter((c) => this.choice.version === 1 && this.choice.base[c])
      .map((c) => `${c}: ${(this.choice as CgroupV1).base[c]}`)
      .join(', ')})`;
  }

  /** Creates the job's folder(s) and writes its limits; on failure removes what it made and throws a sentence. */
  async create(jobId: string, limits: Limits): Promise<JobCgroup> {
    const dirs = jobCgroupDirs(this.choice, this.workerId, jobId, limits);
    const version = this.choice.version;
    const memoryDir = limits.memoryBytes === undefined ? undefined : path.join(workerCgroupDir(this.choice, this.workerId, 'memory')!, jobId);
    const cgroup = new JobCgroup(version, dirs, memoryDir);
    try {
      if (version === 2) await this.enableV2Controllers();
      for (const dir of dirs) await fs.mkdir(dir, { recursive: true });
      for (const w of limitWrites(this.choice, this.workerId, jobId, limits, this.ioDevices)) {
        try {
          await fs.writeFile(w.file, w.value);
        } catch (err) {
          if (!w.optional) throw new Error(`cannot write ${w.value} to ${w.file}: ${(err as Error).message}`);
        }
      }
    } catch (err) {
      await cgroup.release().catch(() => undefined);
      throw new Error(`cannot set up the job's cgroup: ${(err as Error).message}`);
    }
    return cgroup;
  }

  /** Job folders a previous run of this worker left (it was killed), except those of jobs still running (`keep`): empties and removes them. */
  async sweep(keep: ReadonlySet<string>): Promise<number> {
    let swept = 0;
    const parents = new Set(CONTROLLERS.map((c) => workerCgroupDir(this.choice, this.workerId, c)).filter((d): d is string => d !== undefined));
    for (const parent of parents) {
      const entries = await fs.readdir(parent, { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        if (!e.isDirectory() || keep.has(e.name)) continue;
        await new JobCgroup(this.choice.version, [path.join(parent, e.name)], undefined).release();
        swept++;
      }
    }
    return swept;
  }

  /** Removes this worker's (empty) parent folders; best effort, at shutdown. */
  async removeWorkerDirs(): Promise<void> {
    for (const c of CONTROLLERS) {
      const dir = workerCgroupDir(this.choice, this.workerId, c);
      if (dir === undefined) continue;
      await fs.rmdir(dir).catch(() => undefined);
      await fs.rmdir(path.dirname(dir)).catch(() => undefined); // baton/, when no other worker uses it
    }
  }

  /** v2: a child gets a controller only when every ancestor lists it in cgroup.subtree_control. */
  private async enableV2Controllers(): Promise<void> {
    const choice = this.choice as CgroupV2;
    const workerDir = path.join(choice.base, 'baton', this.workerId);
    if (this.prepared.has(workerDir)) return;
    await fs.mkdir(workerDir, { recursive: true });
    const enable = choice.controllers.map((c) => `+${c}`).join(' ');
    for (const dir of [choice.base, path.dirname(workerDir), workerDir]) {
      try {
        await fs.writeFile(path.join(dir, 'cgroup.subtree_control'), enable);
      } catch (err) {
        throw new Error(`cannot enable ${enable} in ${dir}/cgroup.subtree_control: ${(err as Error).message}`);
      }
    }
    this.prepared.add(workerDir);
  }
}
