/**
 * Per-job resource limits: parsing ("64MiB", 0.5, 100) and checking a job's request
 * against the worker's defaults and maximums. Pure: no I/O, shared by the scheduler (which
 * parses the API's `resources`) and the worker (which enforces its maximums).
 */

/** What a job may use. An absent field means no limit. */
export interface Limits {
  memoryBytes?: number;
  /** CPUs: 0.5 is half of one CPU's time. */
  cpu?: number;
  pids?: number;
}

export interface LimitPolicy {
  /** Applied to a job that does not ask for that limit. */
  defaults: Limits;
  /** A request above one of these is refused. */
  max: Limits;
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
/** Below this a job cannot even exec a shell. */
export const MIN_MEMORY_BYTES = 4 * 1024 ** 2;
/** cfs_quota_us must be at least 1 ms of a 100 ms period. */
export const MIN_CPU = 0.01;
export const MAX_PIDS = 4_194_304;

/** "64MiB", "512k", "1.5G", "1048576" or a number of bytes → bytes (whole). */
export function parseMemory(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`memory must be a positive whole number of bytes or a size such as "64MiB", not ${value}`);
    return value;
  }
  const m = /^(\d+(?:\.\d+)?)\s*(?:([kmgt]?)(?:i?b)?|(b))$/i.exec(value.trim());
  if (!m) throw new Error(`memory "${value}" is not a size: use e.g. "64MiB", "512k", "2G" or a number of bytes`);
  const unit = (m[2] ?? m[3] ?? '').toLowerCase();
  const bytes = Math.floor(Number(m[1]) * UNITS[unit]!);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new Error(`memory "${value}" is not a positive size`);
  return bytes;
}

/** 0.5, "1.5", "2" → CPUs. */
export function parseCpu(value: string | number): number {
  const n = typeof value === 'number' ? value : /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isFinite(n) || n <= 0) throw new Error(`cpu must be a positive number of CPUs such as 0.5 or 2, not ${JSON.stringify(value)}`);
  if (n < MIN_CPU) throw new Error(`cpu ${n} is below the smallest share the kernel enforces (${MIN_CPU})`);
  return n;
}

/** A positive whole number of processes (threads count too). */
export function parsePids(value: string | number): number {
  const n = typeof value === 'number' ? value : /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n <= 0 || n > MAX_PIDS) throw new Error(`pids must be a whole number of processes from 1 to ${MAX_PIDS}, not ${JSON.stringify(value)}`);
  return n;
}

/** 67108864 → "64 MiB"; exact units when they fit, else two decimals. */
export function formatBytes(bytes: number): string {
  for (const [unit, size] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytes >= size) {
      const n = bytes / size;
      return `${Number.isInteger(n) ? n : Number(n.toFixed(2))} ${unit}`;
    }
  }
  return `${bytes} B`;
}

export function hasLimits(limits: Limits): boolean {
  return limits.memoryBytes !== undefined || limits.cpu !== undefined || limits.pids !== undefined;
}

function describe(name: keyof Limits, value: number): string {
  if (name === 'memoryBytes') return formatBytes(value);
  if (name === 'cpu') return `${value} CPU${value === 1 ? '' : 's'}`;
  return `${value} processes`;
}

const LABEL: Record<keyof Limits, string> = { memoryBytes: 'memory', cpu: 'cpu', pids: 'pids' };

/** A sentence when the worker's own settings contradict each other (a default above its maximum). */
export function policyProblem(policy: LimitPolicy): string | undefined {
  for (const name of ['memoryBytes', 'cpu', 'pids'] as const) {
    const def = policy.defaults[name];
    const max = policy.max[name];
    if (def !== undefined && max !== undefined && def > max) {
      return `the default ${LABEL[name]} limit (${describe(name, def)}) is above the maximum (${describe(name, max)})`;
    }
  }
  return undefined;
}

/**
 * The limits a job runs with: what it asked for, else the worker's default. A request
 * above the maximum is refused with a sentence naming the limit.
 */
export function effectiveLimits(requested: Limits, policy: LimitPolicy, workerId: string): { limits: Limits } | { problem: string } {
  const limits: Limits = {};
  for (const name of ['memoryBytes', 'cpu', 'pids'] as const) {
    const asked = requested[name];
    const max = policy.max[name];
    if (asked !== undefined && max !== undefined && asked > max) {
      return { problem: `${LABEL[name]} limit ${describe(name, asked)} is above the maximum of ${describe(name, max)} on worker ${workerId}` };
    }
    const value = asked ?? policy.defaults[name];
    if (value !== undefined) limits[name] = value;
  }
  if (limits.memoryBytes !== undefined && limits.memoryBytes < MIN_MEMORY_BYTES) {
    return { problem: `memory limit ${formatBytes(limits.memoryBytes)} is too small: at least ${formatBytes(MIN_MEMORY_BYTES)}` };
  }
  return { limits };
}
