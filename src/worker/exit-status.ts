import { JobState } from '../gen/baton/v1/common.js';

/** Pure: how a job's end (or failure to start) is reported. */

const FINAL_STATES: ReadonlySet<JobState> = new Set([
  JobState.JOB_STATE_SUCCEEDED,
  JobState.JOB_STATE_FAILED,
  JobState.JOB_STATE_STOPPED,
  JobState.JOB_STATE_TIMED_OUT,
  JobState.JOB_STATE_LOST,
]);

export function isFinalState(state: JobState): boolean {
  return FINAL_STATES.has(state);
}

/** "JOB_STATE_SUCCEEDED" → "succeeded", for messages and logs. */
export function stateName(state: JobState): string {
  return (JobState[state] ?? 'unknown').replace(/^JOB_STATE_/, '').toLowerCase();
}

/** 5000 → "5s", 1500 → "1.5s", 250 → "250ms". */
export function formatDuration(ms: number): string {
  return ms >= 1000 && ms % 100 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

export interface StopRequest {
  graceMs: number;
  /** True once SIGKILL was sent because the job outlived its grace period. */
  escalated: boolean;
  /** Set when the worker stopped the job because it ran past its timeout (ms). */
  timeoutMs?: number;
}

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the job ended because someone asked it to stop. */
  stop?: StopRequest;
}

export interface ExitReport {
  state: JobState;
  /** Empty on success. */
  error: string;
}

export function describeExit(exit: ProcessExit): ExitReport {
  if (exit.stop?.timeoutMs !== undefined) {
    const killed = exit.stop.escalated ? ` (killed by SIGKILL: did not exit within ${formatDuration(exit.stop.graceMs)} of SIGTERM)` : '';
    return { state: JobState.JOB_STATE_TIMED_OUT, error: `timed out after ${formatDuration(exit.stop.timeoutMs)}${killed}` };
  }
  if (exit.stop) {
    const error = exit.stop.escalated ? `killed by SIGKILL after stop (did not exit within ${formatDuration(exit.stop.graceMs)} of SIGTERM)` : 'stopped with SIGTERM';
    return { state: JobState.JOB_STATE_STOPPED, error };
  }
  if (exit.signal) return { state: JobState.JOB_STATE_FAILED, error: `killed by signal ${exit.signal}` };
  if (exit.code === 0) return { state: JobState.JOB_STATE_SUCCEEDED, error: '' };
  return { state: JobState.JOB_STATE_FAILED, error: `exited with code ${exit.code ?? 'unknown'}` };
}

/** The sentence for a spawn that failed (the command vanished or lost its execute bit after validation). */
export function describeSpawnError(errorCode: string | undefined, command: string, message: string): string {
  switch (errorCode) {
    case 'ENOENT':
      return `command not found: ${command}`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied: ${command}`;
    default:
      return `could not start ${command}: ${message}`;
  }
}
