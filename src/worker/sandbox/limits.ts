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
  /** Disk I/O a second on the worker's block device(s): bytes read and written, read and write operations. */
  readBps?: number;
  writeBps?: number;
  readIops?: number;
  writeIops?: number;
}

/** Every limit, in the order they are checked and reported. */
export const LIMIT_NAMES = ['memoryBytes', 'cpu', 'pids', 'readBps', 'writeBps', 'readIops', 'writeIops'] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];
export const IO_LIMIT_NAMES = ['readBps', 'writeBps', 'readIops', 'writeIops'] as const;
export type IoLimitName = (typeof IO_LIMIT_NAMES)[number];
/** The API's and the config's names of the I/O limits (`resources.io.read_bps`, `max_io = { write_iops = 100 }`). */
export const IO_KEYS: Readonly<Record<IoLimitName, string>> = { readBps: 'read_bps', writeBps: 'write_bps', readIops: 'read_iops', writeIops: 'write_iops' };

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
/** More CPUs than any machine has: a larger request is a typo, and would overflow the kernel's quota fields. */
export const MAX_CPU = 4_096;

/** "64MiB", "512k", "1.5G", "1048576" or a number of bytes → bytes (whole). */
export function parseMemory(value: string | number): number {
  return parseSize(value, 'memory', '');
}

/** A rate of bytes: "10MiB", "10MiB/s", "512k" or a number of bytes a second. */
export function parseBandwidth(value: string | number, name: string): number {
  return parseSize(typeof value === 'string' ? value.replace(/\s*\/\s*s$/i, '') : value, name, '/s');
}

function parseSize(value: string | number, name: string, per: string): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`${name} must be a positive whole number of bytes${per} or a size such as "64MiB${per}", not ${value}`);
    return value;
  }
  const m = /^(\d+(?:\.\d+)?)\s*(?:([kmgt]?)(?:i?b)?|(b))$/i.exec(value.trim());
  if (!m) throw new Error(`${name} "${value}" is not a size: use e.g. "64MiB${per}", "512k${per}", "2G${per}" or a number of bytes${per}`);
  const unit = (m[2] ?? m[3] ?? '').toLowerCase();
  const bytes = Math.floor(Number(m[1]) * UNITS[unit]!);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new Error(`${name} "${value}" is not a positive size`);
  return bytes;
}

/** I/O operations a second: a positive whole number (the kernel's counters are 32-bit here). */
export function parseIops(value: string | number, name: string): number {
  const n = typeof value === 'number' ? value : /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n <= 0 || n > MAX_IOPS) throw new Error(`${name} must be a whole number of operations a second from 1 to ${MAX_IOPS}, not ${JSON.stringify(value)}`);
  return n;
}

export const MAX_IOPS = 4_294_967_295;

/**
 * I/O limits as the API and the config give them: an object `{read_bps: "10MiB", write_iops: 100}`
 * or, on the command line, `read_bps=10MiB,write_iops=100`. Unknown keys are refused by name.
 */
export function parseIoLimits(value: unknown, where: string): Partial<Record<IoLimitName, number>> {
  let entries: [string, unknown][];
  if (typeof value === 'string') {
    entries = value
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)
      .map((pair) => {
        const i = pair.indexOf('=');
        if (i <= 0) throw new Error(`${where}: "${pair}" is not key=value (e.g. write_bps=10MiB,read_iops=100)`);
        return [pair.slice(0, i).trim(), pair.slice(i + 1).trim()];
      });
  } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    entries = Object.entries(value);
  } else {
    throw new Error(`${where} must be a table such as {write_bps = "10MiB", read_iops = 100}, not ${JSON.stringify(value)}`);
  }
  const out: Partial<Record<IoLimitName, number>> = {};
  for (const [key, raw] of entries) {
    const name = IO_LIMIT_NAMES.find((n) => IO_KEYS[n] === key);
    if (name === undefined) throw new Error(`${where}: unknown key "${key}" (use ${IO_LIMIT_NAMES.map((n) => IO_KEYS[n]).join(', ')})`);
    if (typeof raw !== 'string' && typeof raw !== 'number') throw new Error(`${where}.${key} must be a number or a string, not ${JSON.stringify(raw)}`);
    const label = `${where}.${key}`;
    out[name] = name === 'readBps' || name === 'writeBps' ? parseBandwidth(raw, label) : parseIops(raw, label);
  }
  return out;
}

/** 0.5, "1.5", "2" → CPUs. */
export function parseCpu(value: string | number): number {
  const n = typeof value === 'number' ? value : /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isFinite(n) || n <= 0) throw new Error(`cpu must be a positive number of CPUs such as 0.5 or 2, not ${JSON.stringify(value)}`);
  if (n < MIN_CPU) throw new Error(`cpu ${n} is below the smallest share the kernel enforces (${MIN_CPU})`);
  if (n > MAX_CPU) throw new Error(`cpu ${n} is above ${MAX_CPU} CPUs, more than any machine has`);
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
  for (const [unit, size] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (bytes >= size) {
      const n = bytes / size;
      return `${Number.isInteger(n) ? n : Number(n.toFixed(2))} ${unit}`;
    }
  }
  return `${bytes} B`;
}

export function hasLimits(limits: Limits): boolean {
  return LIMIT_NAMES.some((name) => limits[name] !== undefined);
}

function describe(name: LimitName, value: number): string {
  if (name === 'memoryBytes') return formatBytes(value);
  if (name === 'cpu') return `${value} CPU${value === 1 ? '' : 's'}`;
  if (name === 'pids') return `${value} processes`;
  if (name === 'readBps' || name === 'writeBps') return `${formatBytes(value)}/s`;
  return `${value} IOPS`;
}

const LABEL: Record<LimitName, string> = {
  memoryBytes: 'memory',
  cpu: 'cpu',
  pids: 'pids',
  readBps: 'io.read_bps',
  writeBps: 'io.write_bps',
  readIops: 'io.read_iops',
  writeIops: 'io.write_iops',
};

/** A sentence when the worker's own settings contradict each other (a default above its maximum). */
export function policyProblem(policy: LimitPolicy): string | undefined {
  for (const name of LIMIT_NAMES) {
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
  for (const name of LIMIT_NAMES) {
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
