/**
 * The JSON shapes of the scheduler's HTTP API, derived from the one definition of each in
 * src/api (type-only imports: the client takes no runtime dependency from them). Keys are
 * snake_case, times ISO-8601, and `null` means "not yet" / "none".
 */
import type { Job, JobDetail } from '../api/jobs.js';
import type { Schedule } from '../api/schedules.js';
import type { Worker } from '../api/workers.js';

export type { Health } from '../api/health.js';
// RetryRequest is what a submit may say; RetryPolicy is what the job then carries (defaults filled in).
export type { Job, JobAttempt, JobDetail, JobPage, JobState, ListJobsFilter, OutputSearch, OutputStream, RetryPolicy, RetryRequest, SubmitJobRequest } from '../api/jobs.js';
export type { OriginalJobRef, OriginalQueryResult, OriginalStartRequest, OriginalStartResult, OriginalStopResult } from '../api/original.js';
export type { ApiToken, CreatedApiToken, TokenRole } from '../api/tokens.js';
export type { WhoAmI } from '../api/whoami.js';
export type { Worker, WorkerState } from '../api/workers.js';
export type { CreateScheduleRequest, Schedule, ScheduleDetail, UpdateScheduleRequest } from '../api/schedules.js';
export { FINAL_JOB_STATES, isFinalJobState, JOB_STATES } from './job-states.js';

/** One message of `GET /v1/events`: a job, worker or schedule as it is after a change (a deleted schedule is `{name, deleted: true}`). */
export type BatonEvent =
  | { id: number; type: 'job'; job: Job }
  | { id: number; type: 'worker'; worker: Worker /** An admin removed it; `worker` is as it was. */; removed?: true }
  | { id: number; type: 'schedule'; schedule: Schedule | { name: string; deleted: true } };

/** `GET /v1/jobs/:id/wait`: `done` false when the timeout passed first (the job as it is now). */
export interface WaitResult {
  done: boolean;
  job: JobDetail;
}
