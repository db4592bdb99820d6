/**
 * Which cgroup version to use and where a job's cgroup lives, decided from what the
 * machine shows (the text of /proc/self/mounts and /proc/self/cgroup, the controllers
 * of each cgroup2 mount), given as data. Pure: the I/O is in ./cgroups.ts.
 */
import path from 'node:path';
import { formatBytes, IO_LIMIT_NAMES, type Limits } from './limits.js';

/** Controllers by their cgroup v2 names; v1 calls `io` "blkio". */
export type Controller = 'memory' | 'cpu' | 'pids' | 'io';
export const CONTROLLERS: readonly Controller[] = ['memory', 'cpu', 'pids', 'io'];
const V1_NAME: Readonly<Record<Controller, string>> = { memory: 'memory', cpu: 'cpu', pids: 'pids', io: 'blkio' };

/** cgroup v1: one hierarchy per controller; `base` is where baton/<worker-id>/ goes in each. */
export interface CgroupV1 {
  version: 1;
  base: Partial<Record<Controller, string>>;
}

/** cgroup v2: one tree; `base` is where baton/<worker-id>/ goes. */
export interface CgroupV2 {
  version: 2;
  base: string;
  controllers: Controller[];
}

export interface NoCgroups {
  version: 0;
  reason: string;
}

export type CgroupChoice = CgroupV1 | CgroupV2 | NoCgroups;

export interface CgroupFacts {
  /** /proc/self/mounts */
  mounts: string;
  /** /proc/self/cgroup */
  selfCgroup: string;
  /** cgroup.controllers of each cgroup2 mount point (missing: unreadable). */
  v2Controllers: Record<string, string>;
}

interface Mount {
  point: string;
  type: string;
  options: string[];
}

function parseMounts(text: string): Mount[] {
  return text
    .split('\n')
    .map((line) => line.split(' '))
    .filter((f) => f.length >= 4)
    .map((f) => ({ point: f[1]!.replace(/\\040/g, ' '), type: f[2]!, options: f[3]!.split(',') }));
}

/** controller → the worker's own path in that v1 hierarchy ("/" when at the top). */
function ownV1Paths(selfCgroup: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of selfCgroup.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m || m[1] === '') continue;
    for (const c of m[1]!.split(',')) out.set(c, m[2]!);
  }
  return out;
}

/**
 * v2 when a cgroup2 mount has at least as many of our controllers as the v1 hierarchies
 * (and at least one); else v1 when any of memory, cpu, pids, blkio is mounted as v1; else none.
 * On v1 the job cgroups go under the worker's own cgroup in each hierarchy (so limits set
 * on the worker's service still cover its jobs); on v2 under the root of the cgroup2 mount,
 * because v2 forbids enabling controllers below a cgroup that holds processes (the worker).
 */
export function chooseCgroups(facts: CgroupFacts): CgroupChoice {
  const mounts = parseMounts(facts.mounts);
  const own = ownV1Paths(facts.selfCgroup);
  const v1: Partial<Record<Controller, string>> = {};
  for (const m of mounts) {
    if (m.type !== 'cgroup') continue;
    for (const c of CONTROLLERS) {
      if (m.options.includes(V1_NAME[c]) && v1[c] === undefined) v1[c] = path.join(m.point, own.get(V1_NAME[c]) ?? '/').replace(/(.)\/$/, '$1');
    }
  }
  let v2: CgroupV2 | undefined;
  const v2Notes: string[] = [];
  for (const m of mounts) {
    if (m.type !== 'cgroup2') continue;
    const listed = facts.v2Controllers[m.point];
    if (listed === undefined) {
      v2Notes.push(`${m.point}/cgroup.controllers cannot be read`);
      continue;
    }
    const controllers = CONTROLLERS.filter((c) => listed.split(/\s+/).includes(c));
    if (controllers.length === 0) v2Notes.push(`the cgroup2 mount at ${m.point} has no controllers enabled`);
    if (controllers.length > (v2?.controllers.length ?? 0)) v2 = { version: 2, base: m.point, controllers };
  }
  const v1Count = Object.keys(v1).length;
  if (v2 && v2.controllers.length >= v1Count) return v2;
  if (v1Count > 0) return { version: 1, base: v1 };
  const reasons = [...v2Notes];
  if (!mounts.some((m) => m.type === 'cgroup2')) reasons.push('no cgroup2 file system is mounted');
  reasons.push('no cgroup v1 hierarchy of memory, cpu, pids or blkio is mounted');
  return { version: 0, reason: reasons.join('; ') };
}

export function availableControllers(choice: CgroupChoice): Controller[] {
  if (choice.version === 2) return choice.controllers;
  if (choice.version === 1) return CONTROLLERS.filter((c) => choice.base[c] !== undefined);
  return [];
}

/** The controllers `limits` needs. */
export function neededControllers(limits: Limits): Controller[] {
  const out: Controller[] = [];
  if (limits.memoryBytes !== undefined) out.push('memory');
  if (limits.cpu !== undefined) out.push('cpu');
  if (limits.pids !== undefined) out.push('pids');
  if (IO_LIMIT_NAMES.some((name) => limits[name] !== undefined)) out.push('io');
  return out;
}

/** Where a controller's folders of this worker go: `<base>/baton/<worker-id>`. */
export function workerCgroupDir(choice: CgroupV1 | CgroupV2, workerId: string, controller: Controller): string | undefined {
  const base = choice.version === 2 ? (choice.controllers.includes(controller) ? choice.base : undefined) : choice.base[controller];
  return base === undefined ? undefined : path.join(base, 'baton', workerId);
}

/**
 * The folders a job with `limits` gets: on v1 one per needed controller's hierarchy, on v2 one.
 * Job ids are checked to be plain file names before they get here.
 */
export function jobCgroupDirs(choice: CgroupV1 | CgroupV2, workerId: string, jobId: string, limits: Limits): string[] {
  const dirs = new Set<string>();
  for (const c of neededControllers(limits)) {
    const parent = workerCgroupDir(choice, workerId, c);
    if (parent !== undefined) dirs.add(path.join(parent, jobId));
  }
  return [...dirs];
}

export const CPU_PERIOD_US = 100_000;

/**
 * The files to write, in order, to set `limits` on a job's cgroup folder(s). `ioDevices` are
 * the "major:minor" of the whole disks the I/O limits apply to (the kernel refuses partitions).
 */
export function limitWrites(
  choice: CgroupV1 | CgroupV2,
  workerId: string,
  jobId: string,
  limits: Limits,
  ioDevices: readonly string[] = [],
): { file: string; value: string; optional?: boolean }[] {
  const dir = (c: Controller): string => path.join(workerCgroupDir(choice, workerId, c)!, jobId);
  const writes: { file: string; value: string; optional?: boolean }[] = [];
  const quota = limits.cpu === undefined ? undefined : Math.max(1000, Math.round(limits.cpu * CPU_PERIOD_US));
  if (choice.version === 1) {
    if (limits.memoryBytes !== undefined) {
      writes.push({ file: path.join(dir('memory'), 'memory.limit_in_bytes'), value: String(limits.memoryBytes) });
      // With swap, the limit would only push pages out; memsw exists when swap accounting is on.
      writes.push({ file: path.join(dir('memory'), 'memory.memsw.limit_in_bytes'), value: String(limits.memoryBytes), optional: true });
    }
    if (quota !== undefined) {
      writes.push({ file: path.join(dir('cpu'), 'cpu.cfs_period_us'), value: String(CPU_PERIOD_US) });
      writes.push({ file: path.join(dir('cpu'), 'cpu.cfs_quota_us'), value: String(quota) });
    }
    if (limits.pids !== undefined) writes.push({ file: path.join(dir('pids'), 'pids.max'), value: String(limits.pids) });
    // One line per device and file; the kernel takes one "major:minor value" per write.
    const v1Files = {
      readBps: 'blkio.throttle.read_bps_device',
      writeBps: 'blkio.throttle.write_bps_device',
      readIops: 'blkio.throttle.read_iops_device',
      writeIops: 'blkio.throttle.write_iops_device',
    } as const;
    for (const name of IO_LIMIT_NAMES) {
      const value = limits[name];
      if (value === undefined) continue;
      for (const device of ioDevices) writes.push({ file: path.join(dir('io'), v1Files[name]), value: `${device} ${value}` });
    }
  } else {
    if (limits.memoryBytes !== undefined) {
      writes.push({ file: path.join(dir('memory'), 'memory.max'), value: String(limits.memoryBytes) });
      writes.push({ file: path.join(dir('memory'), 'memory.swap.max'), value: '0', optional: true });
    }
    if (quota !== undefined) writes.push({ file: path.join(dir('cpu'), 'cpu.max'), value: `${quota} ${CPU_PERIOD_US}` });
    if (limits.pids !== undefined) writes.push({ file: path.join(dir('pids'), 'pids.max'), value: String(limits.pids) });
    const keys = { readBps: 'rbps', writeBps: 'wbps', readIops: 'riops', writeIops: 'wiops' } as const;
    const settings = IO_LIMIT_NAMES.filter((name) => limits[name] !== undefined).map((name) => `${keys[name]}=${limits[name]}`);
    if (settings.length > 0) for (const device of ioDevices) writes.push({ file: path.join(dir('io'), 'io.max'), value: `${device} ${settings.join(' ')}` });
  }
  return writes;
}

/**
 * OOM kills counted in a job's memory cgroup. v1: the `oom_kill N` line of memory.oom_control
 * (kernels since 4.13); without it a non-zero memory.failcnt is taken as a sign. v2: the
 * `oom_kill N` line of memory.events.
 */
export function oomKills(version: 1 | 2, eventsText: string | undefined, failcnt?: string): number {
  const m = eventsText === undefined ? null : /^oom_kill (\d+)$/m.exec(eventsText);
  if (m) return Number(m[1]);
  if (version === 1 && failcnt !== undefined && Number(failcnt.trim()) > 0) return 1;
  return 0;
}

export function memoryExceededMessage(limitBytes: number): string {
  return `memory limit ${formatBytes(limitBytes)} exceeded`;
}

/** The message when limits are asked for and no cgroup can carry them. */
export function noCgroupsMessage(reason: string): string {
  return `resource limits need cgroups; none are usable on this machine: ${reason}`;
}
