import type { JobState } from '../api/jobs.js';

/**
 * The job states the client needs at run time (choices, filters, "is it over?"). The scheduler's
 * list is in src/scheduler/job-state.ts, which the client cannot import without its runtime
 * dependencies; `satisfies` makes the compiler refuse this table when a state is missing or
 * unknown, and job-states.test.ts checks the order and which states are final.
 */
const FINAL_BY_STATE = {
  waiting: false,
  queued: false,
  dispatched: false,
  running: false,
  unknown: false,
  succeeded: true,
  failed: true,
  stopped: true,
  timed_out: true,
  lost: true,
  skipped: true,
} as const satisfies Record<JobState, boolean>;

export const JOB_STATES = Object.keys(FINAL_BY_STATE) as JobState[];

export const FINAL_JOB_STATES: readonly JobState[] = JOB_STATES.filter((s) => FINAL_BY_STATE[s]);

export function isFinalJobState(state: JobState): boolean {
  return FINAL_BY_STATE[state];
}
