/**
 * The spawner protocol: one JSON object per line, requests on the spawner's stdin,
 * events on its stdout. Types only: spawner-main.ts imports this file, and it must stay
 * free of anything that would load code into the spawner.
 */

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
  /** stdout and stderr of the job, opened O_APPEND|O_TRUNC (see spawner-main.ts). */
  outputPath: string;
}

export type SpawnerRequest = SpawnRequest;

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
  /** 'open': the output file could not be opened; 'spawn': fork/exec failed. */
  stage: 'open' | 'spawn';
  /** errno name such as ENOENT, when there is one. */
  code?: string;
  message: string;
}

/** The leader exited and the rest of its group has been sent SIGKILL. Final for the job. */
export interface ExitedEvent {
  type: 'exited';
  jobId: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Something the worker should log (the spawner has no logger of its own). */
export interface WarningEvent {
  type: 'warning';
  message: string;
  jobId?: string;
}

export type SpawnerEvent = SpawnedEvent | FailedEvent | ExitedEvent | WarningEvent;
