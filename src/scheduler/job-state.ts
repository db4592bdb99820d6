import { JobState as WorkerJobState } from '../gen/baton/v1/common.js';

/**
 * The job lifecycle, checked in one place:
 * `queued → dispatched → running → succeeded | failed | stopped | timed_out | lost`.
 * Pure: no I/O, so the table test beside it covers every pair.
 */
export const JOB_STATES = ['queued', 'dispatched', 'running', 'succeeded', 'failed', 'stopped', 'timed_out', 'lost'] as const;
export type JobStateName = (typeof JOB_STATES)[number];

export const FINAL_STATES: readonly JobStateName[] = ['succeeded', 'failed', 'stopped', 'timed_out', 'lost'];

// Position in the lifecycle; all final states share the last rank, so one final state
// never replaces another (a late "lost" cannot overwrite "succeeded").
const RANK: Record<JobStateName, number> = {
  queued: 0,
  dispatched: 1,
  running: 2,
  succeeded: 3,
  failed: 3,
  stopped: 3,
  timed_out: 3,
  lost: 3,
};

export function isJobState(value: string): value is JobStateName {
  return (JOB_STATES as readonly string[]).includes(value);
}

export function isFinal(state: JobStateName): boolean {
  return RANK[state] === 3;
}

/**
 * Forward only. Skipping a step is allowed (a worker's "running" may arrive before the
 * scheduler has recorded the dispatch); staying put is not a transition.
 */
export function canTransition(from: JobStateName, to: JobStateName): boolean {
  return RANK[to] > RANK[from];
}

/** The states from which `to` may be reached: lets the store make the check part of its UPDATE. */
export function predecessorsOf(to: JobStateName): JobStateName[] {
  return JOB_STATES.filter((from) => canTransition(from, to));
}

/** The worker's view of an attempt → the job state it implies; null for values that carry no state. */
export function fromWorkerState(state: WorkerJobState): JobStateName | null {
  switch (state) {
    case WorkerJobState.JOB_STATE_STARTING:
      return 'dispatched';
    case WorkerJobState.JOB_STATE_RUNNING:
      return 'running';
    case WorkerJobState.JOB_STATE_SUCCEEDED:
      return 'succeeded';
    case WorkerJobState.JOB_STATE_FAILED:
      return 'failed';
    case WorkerJobState.JOB_STATE_STOPPED:
      return 'stopped';
    case WorkerJobState.JOB_STATE_TIMED_OUT:
      return 'timed_out';
    case WorkerJobState.JOB_STATE_LOST:
      return 'lost';
    default:
      return null;
  }
}
