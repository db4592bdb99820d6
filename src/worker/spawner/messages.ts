/**
 * The worker ↔ supervisor protocol: one JSON object per line each way over the
 * supervisor's Unix socket (`<data-dir>/supervisor.sock`). The worker speaks first with
 * `hello`; the supervisor answers `welcome` (with the jobs it still runs) or `refused`.
 * Types only: spawner-main.ts imports this file, and it must stay free of anything that
 * would load code into the supervisor.
 *
 * PROTOCOL_VERSION changes whenever a message changes shape. A worker speaks every version from
 * OLDEST_PROTOCOL_VERSION up, so a newer worker takes back the jobs of an earlier release's
 * supervisor; one outside that range is refused (with what to do) and its jobs go on.
 * Version 2 adds `stdinPath` to `spawn`; version 3 adds `runsPath`: the job's stdout and
 * stderr go through two pipes, and which bytes of the output came from which is kept there.
 */

export const PROTOCOL_VERSION = 3;
export const OLDEST_PROTOCOL_VERSION = 1;

/** Worker → supervisor, first line on every connection. */
export interface HelloRequest {
  type: 'hello';
  /** The oldest version the worker speaks: a version-1 supervisor reads only this, and accepts exactly 1. */
  version: number;
  /** The newest version the worker speaks (absent: `version` only). */
  upTo?: number;
  /** The supervisor serves the worker id that started it only: a data folder taken over by another worker does not hand it that one's jobs. */
  workerId: string;
}

/** What the worker needs to take a job back after a restart; the supervisor keeps it without reading it. */
export interface JobMeta {
  command: string;
  /** Wall-clock limit from the start (0: none). */
  timeoutMs: number;
  memoryLimitBytes?: number;
  cgroup?: { version: 1 | 2; dirs: string[]; memoryDir?: string };
}

/** Worker → supervisor: the worker is closing with every job ended; stop anything left and exit. */
export interface ShutdownRequest {
  type: 'shutdown';
}

/** Worker → spawner: open the output file and start the job as its own process group. */
export interface SpawnRequest {
  type: 'spawn';
  jobId: string;
  /** Absolute path of the program. */
  program: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** Run as this user and group (set after fork, before exec); absent: the worker's own. */
  uid?: number;
  gid?: number;
  /** stdout and stderr of the job (see spawner-main.ts). */
  outputPath: string;
  /** Hold the output cap as written: the job writes into a pipe the spawner copies, keeping this head and tail (native/spawn.c). */
  output?: OutputSplit;
  /**
   * Keep stdout and stderr apart (with `output`): the file the copy writes the output's runs
   * to (src/common/output-runs.ts), created before the output file. Absent: one pipe for both.
   */
  runsPath?: string;
  /** A file for the job's stdin, removed once opened (the job reads the open copy); absent: /dev/null. */
  stdinPath?: string;
  meta: JobMeta;
}

export type SpawnerRequest = HelloRequest | SpawnRequest | ShutdownRequest;

/** A job the supervisor runs, as it reports it to a worker that (re)connects. */
export interface RunningJob {
  jobId: string;
  pid: number;
  startedAtMs: number;
  /** The leader's start time, as in SpawnedEvent. */
  startTime?: string;
  meta: JobMeta;
}

/** Supervisor → worker: the answer to `hello`. */
export interface WelcomeEvent {
  type: 'welcome';
  version: number;
  /** The supervisor's own pid. */
  pid: number;
  jobs: RunningJob[];
}

/** Supervisor → worker: the connection is not accepted (another worker holds it, or a version it does not speak); then it closes. */
export interface RefusedEvent {
  type: 'refused';
  version: number;
  message: string;
}

/** The process started; `pid` leads the job's process group. */
export interface SpawnedEvent {
  type: 'spawned';
  jobId: string;
  pid: number;
  startedAtMs: number;
  /** The leader's start time (/proc stat field 22, see journal/proc-stat.ts); absent if /proc could not be read. */
  startTime?: string;
}

/** The job never started. Final for the job. */
export interface FailedEvent {
  type: 'failed';
  jobId: string;
  /** 'open': the output file could not be opened; 'stdin': nor the stdin file; 'spawn': fork/exec failed. */
  stage: 'open' | 'stdin' | 'spawn';
  /** errno name such as ENOENT, when there is one. */
  code?: string;
  message: string;
}

/** How an output over the cap is kept: its first `headBytes` and its last `tailBytes`. */
export interface OutputSplit {
  headBytes: number;
  tailBytes: number;
}

/** What the copy of a job's output wrote: `bytes` the job wrote in all, `cutBytes` of them dropped at the cap. */
export interface OutputEnd {
  bytes: number;
  cutBytes: number;
}

/** The leader exited and the rest of its group has been sent SIGKILL. Final for the job. */
export interface ExitedEvent {
  type: 'exited';
  jobId: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the output went through the spawner's copy, once its file is final. */
  output?: OutputEnd;
}

/** Something the worker should log (the spawner has no logger of its own). */
export interface WarningEvent {
  type: 'warning';
  message: string;
  jobId?: string;
}

export type SpawnerEvent = WelcomeEvent | RefusedEvent | SpawnedEvent | FailedEvent | ExitedEvent | WarningEvent;

/** The version a supervisor speaking up to `own` uses with a worker's hello: the newest both speak, or undefined when they share none. */
export function agreedVersion(hello: Pick<HelloRequest, 'version' | 'upTo'>, own: number = PROTOCOL_VERSION): number | undefined {
  const newest = Math.min(typeof hello.upTo === 'number' ? hello.upTo : hello.version, own);
  return Number.isInteger(hello.version) && hello.version <= newest && newest >= OLDEST_PROTOCOL_VERSION ? newest : undefined;
}
