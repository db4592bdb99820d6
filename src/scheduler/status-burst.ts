import type { JobStatus } from '../gen/baton/v1/common.js';

/**
 * The statuses of a burst from one worker's WatchJobs stream that still matter: the last
 * one of each attempt, in the order those arrived. A worker reports an attempt's states in
 * order, so an earlier status of the same attempt is already superseded (a job that started
 * and ended before the scheduler caught up goes from dispatched straight to its end, its
 * start time carried by the final status). What remains concerns distinct attempts and may
 * be applied together: one store commit for the lot instead of one per report.
 * Pure: no I/O.
 */
export function latestPerAttempt(burst: readonly JobStatus[]): JobStatus[] {
  const last = new Map<string, JobStatus>();
  for (const status of burst) {
    last.delete(status.jobId); // re-inserted at the end: the order of the latest reports
    last.set(status.jobId, status);
  }
  return [...last.values()];
}
