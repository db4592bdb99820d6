/**
 * The JSON shapes of the scheduler's HTTP API, as `src/scheduler/http/views.ts` writes
 * them: snake_case keys, ISO-8601 times, `null` for "not yet" / "none".
 */

export const JOB_STATES = ['queued', 'dispatched', 'running', 'succeeded', 'failed', 'stopped', 'timed_out', 'lost'] as const;
export type JobState = (typeof JOB_STATES)[number];

export const FINAL_JOB_STATES: readonly JobState[] = ['succeeded', 'failed', 'stopped', 'timed_out', 'lost'];

export function isFinalJobState(state: JobState): boolean {
  return FINAL_JOB_STATES.includes(state);
}

export type WorkerState = 'up' | 'down' | 'deregistered';

/** `GET /v1/workers` (each entry), `GET /v1/workers/:id`. */
export interface Worker {
  id: string;
  address: string;
  labels: Record<string, string>;
  capacity: number;
  /** Jobs running, as the worker's last heartbeat said. */
  running: number;
  state: WorkerState;
  last_heartbeat: string | null;
  registered_at: string | null;
  version: string;
  /** No new placements here (an admin's drain, or the worker shutting down). */
  draining?: boolean;
}

/** A job as `POST /v1/jobs` and `GET /v1/jobs` answer it. */
export interface Job {
  id: string;
  state: JobState;
  worker_id: string;
  command: string;
  /** The script inside the worker's jobs folder ("" when none). */
  path: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  created_at: string | null;
  updated_at: string | null;
  finished_at: string | null;
  exit_code: number | null;
  /** "SIGKILL", … when a signal ended the job. */
  signal: string | null;
  error: string | null;
  output_truncated: boolean;
  /** Who submitted / stopped the job (the API token's name), when API tokens are on. */
  submitted_by?: string | null;
  stopped_by?: string | null;
  /** Why a queued job waits ("no worker has labels gpu=true"), else null. */
  reason?: string | null;
  labels?: Record<string, string>;
  priority?: number;
  /** The attempt now live (1 for the first). */
  attempt?: number;
  /** Seconds, or null for none. */
  timeout?: number | null;
  retry?: RetryPolicy;
  /** Set on each copy of a `run_on: "all"` job; `children` on the parent. */
  parent_id?: string | null;
  children?: string[];
}

/** When a job is tried again: up to `max_attempts` in all, after a backoff, for the listed outcomes. */
export interface RetryPolicy {
  max_attempts?: number;
  /** Seconds: the first wait, and the most any wait grows to. */
  backoff?: { base?: number; cap?: number };
  on?: Array<'failed' | 'lost' | 'timed_out'>;
}

export interface JobAttempt {
  number: number;
  worker_id: string;
  state: JobState;
  exit_code: number | null;
  signal: string | null;
  error: string | null;
  created_at: string | null;
  started_at: string | null;
  finished_at: string | null;
}

/** `GET /v1/jobs/:id` and `POST /v1/jobs/:id/stop`: the job with its attempts. */
export interface JobDetail extends Job {
  attempts: JobAttempt[];
}

/** `GET /v1/jobs`: newest first; `next_cursor` is null on the last page. */
export interface JobPage {
  jobs: Job[];
  next_cursor: string | null;
}

/** The body of `POST /v1/jobs` (and each item of `POST /v1/jobs/batch`). */
export interface SubmitJobRequest {
  /** Only this worker may run it; absent: the scheduler places it. */
  worker_id?: string;
  /** Labels a worker must carry, all of them. */
  labels?: Record<string, string>;
  /** Higher starts first among queued jobs; default 0. */
  priority?: number;
  /** Seconds the job may run before it is stopped and ends timed_out. */
  timeout?: number;
  retry?: RetryPolicy;
  /** "all": one copy on every matching worker, under a parent job. */
  run_on?: 'all';
  resources?: { memory?: string | number; cpu?: number; pids?: number; io?: Record<string, string | number> };
  network?: 'none';
  isolate?: boolean;
  command: string;
  args?: string[];
  /** A script inside the worker's jobs folder. */
  path?: string;
  env?: Record<string, string>;
  /** A folder inside the worker's jobs folder. */
  cwd?: string;
}

/** Query parameters of `GET /v1/jobs`. */
export interface ListJobsFilter {
  state?: JobState;
  worker_id?: string;
  /** 1–500; the scheduler's default is 50. */
  limit?: number;
  cursor?: string;
}

export interface Health {
  status: 'ok';
}

/** The original calls (`/start`, `/stop`, `/query`, `/stream`). */
export interface OriginalStartRequest {
  worker_id: string;
  command: string;
  path: string;
}

export interface OriginalJobRef {
  worker_id: string;
  job_id: string;
}

export interface OriginalStartResult {
  job_id: string;
}

export interface OriginalStopResult {
  success: true;
}

export interface OriginalQueryResult {
  done: boolean;
  error: boolean;
  error_text: string;
  state: JobState;
  exit_code: number | null;
  signal: string | null;
}

/** One message of `GET /v1/events`: a job or worker as it is after a change. */
export type BatonEvent = { id: number; type: 'job'; job: Job } | { id: number; type: 'worker'; worker: Worker };

/** `GET /v1/jobs/:id/wait`: `done` false when the timeout passed first (the job as it is now). */
export interface WaitResult {
  done: boolean;
  job: JobDetail;
}

export type TokenRole = 'viewer' | 'operator' | 'admin';

/** An API token as listed: never its secret. */
export interface ApiToken {
  name: string;
  role: TokenRole;
  created_at: string | null;
  revoked_at: string | null;
}

/** `POST /v1/tokens`: the new token with its secret, shown this once. */
export interface CreatedApiToken extends ApiToken {
  token: string;
}
