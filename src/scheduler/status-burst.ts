import { JobState, type JobStatus } from '../gen/baton/v1/common.js';

/** One attempt's latest status in a burst. */
export interface LatestStatus {
  status: JobStatus;
  /** A RUNNING report of the attempt came earlier in the burst and is superseded by `status`. */
  ranFirst: boolean;
}

/**
 * The statuses of a burst from one worker's WatchJobs stream that still need a write: the
 * last one of each attempt, in the order those arrived. A worker reports an attempt's states
 * in order, so an earlier status of the same attempt is already superseded: a job that
 * started and ended before the scheduler caught up is written once, with its end (which
 * carries its start time), and `ranFirst` says it was seen running on the way. What remains
 * concerns distinct attempts and may be applied together: one store commit for the lot
 * instead of one per report. Pure: no I/O.
 */
export function latestPerAttempt(burst: readonly JobStatus[]): LatestStatus[] {
  const last = new Map<string, LatestStatus>();
  for (const status of burst) {
    const earlier = last.get(status.jobId);
    const ranFirst = status.state !== JobState.JOB_STATE_RUNNING && earlier !== undefined && (earlier.ranFirst || earlier.status.state === JobState.JOB_STATE_RUNNING);
    last.delete(status.jobId); // re-inserted at the end: the order of the latest reports
    last.set(status.jobId, { status, ranFirst });
  }
  return [...last.values()];
}
