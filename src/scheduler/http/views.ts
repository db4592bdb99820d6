import type { Job, JobAttempt, JobDetail as JobDetailView } from '../../api/jobs.js';
import type { Schedule } from '../../api/schedules.js';
import type { ScheduleRecord } from '../store/schedule-store.js';
import type { OriginalQueryResult } from '../../api/original.js';
import type { ApiToken } from '../../api/tokens.js';
import type { Worker } from '../../api/workers.js';
import type { JobDetail } from '../job-service.js';
import { isErrorCode, wireCode } from '../../common/errors.js';
import { isFinal } from '../job-state.js';
import type { WorkerEntry } from '../registry.js';
import type { AttemptRecord, JobRecord } from '../store/job-store.js';
import type { TokenRecord } from '../store/token-store.js';

/**
 * Records → the HTTP API's answers, each typed as its schema in src/api (so the compiler checks
 * every field). Key order here is the order the schema gives, which is the order on the wire.
 */

/** Times recently made into text, at most ISO_KEPT: a job's view is made for each of its events and answers, and the jobs of a batch, or of one moment, share their times. */
const isoKept = new Map<number, string>();
const ISO_KEPT = 256;

function iso(ms: number): string {
  let text = isoKept.get(ms);
  if (text === undefined) {
    if (isoKept.size >= ISO_KEPT) isoKept.clear();
    text = new Date(ms).toISOString();
    isoKept.set(ms, text);
  }
  return text;
}

function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : iso(ms);
}

/** The records keep '' for "none"; the API says null. */
function orNull(text: string): string | null {
  return text || null;
}

export function workerView(w: WorkerEntry): Worker {
  return {
    id: w.id,
    address: w.address,
    labels: w.labels,
    capacity: w.capacity,
    running: w.running,
    state: w.state,
    last_heartbeat: iso(w.lastHeartbeatAt),
    registered_at: iso(w.registeredAt),
    version: w.version,
    draining: w.drainingBy !== '',
    unreachable: (w.state === 'up' && w.channel?.unreachable) || null,
  };
}

export function jobView(job: JobRecord): Job {
  return {
    id: job.id,
    state: job.state,
    worker_id: orNull(job.workerId),
    reason: orNull(job.reason),
    labels: job.labels,
    priority: job.priority,
    pinned: job.pinnedWorker !== '',
    attempt: job.attempt,
    next_attempt_at: isoOrNull(job.nextAttemptAt),
    retry: {
      max_attempts: job.retry.maxAttempts,
      backoff: { base: job.retry.backoffBaseMs / 1000, cap: job.retry.backoffCapMs / 1000 },
      on: job.retry.on,
    },
    command: job.command,
    path: job.path,
    args: job.args,
    env: job.env,
    cwd: job.cwd,
    created_at: iso(job.createdAt),
    updated_at: iso(job.updatedAt),
    finished_at: isoOrNull(job.finishedAt),
    exit_code: job.exitCode,
    signal: orNull(job.signal),
    error: orNull(job.error),
    // What kind of error, for programs (command_not_found when the worker refused the start).
    error_code: isErrorCode(job.errorCode) ? wireCode(job.errorCode) : null,
    output_truncated: job.outputTruncated,
    timeout: job.timeoutMs > 0 ? job.timeoutMs / 1000 : null,
    parent_id: orNull(job.parentId),
    children: job.children,
    submitted_by: orNull(job.submittedBy),
    stopped_by: orNull(job.stoppedBy),
    schedule: orNull(job.schedule),
    scheduled_for: isoOrNull(job.scheduledFor),
    concurrency: job.concurrency && { key: job.concurrency.key, limit: job.concurrency.limit, on_limit: job.concurrency.onLimit },
    after: job.after,
    after_condition: job.afterCondition,
    name: orNull(job.name),
    stdin_bytes: job.stdinBytes,
  };
}

/** `next`: the next tick (null when paused); `last`: the newest run. */
export function scheduleView(s: ScheduleRecord, next: number | null, last: JobRecord | undefined): Schedule {
  return {
    name: s.name,
    cron: s.cron,
    timezone: s.timezone,
    overlap: s.overlap,
    catchup_window: s.catchupWindowMs / 1000,
    paused: s.paused,
    job: s.job,
    next_run_at: isoOrNull(next),
    last_run: last ? { job_id: last.id, state: last.state, scheduled_for: isoOrNull(last.scheduledFor), created_at: iso(last.createdAt) } : null,
    buffered_for: isoOrNull(s.bufferedFor),
    missed: s.missed,
    last_missed_at: isoOrNull(s.lastMissedAt),
    created_by: s.createdBy,
    created_at: iso(s.createdAt),
    updated_at: iso(s.updatedAt),
  };
}

/** Never the hash: it is of no use to a caller. */
export function tokenView(t: TokenRecord): ApiToken {
  return { name: t.name, role: t.role, created_at: iso(t.createdAt), revoked_at: isoOrNull(t.revokedAt) };
}

function attemptView(a: AttemptRecord): JobAttempt {
  return {
    number: a.number,
    worker_id: orNull(a.workerId),
    state: a.state,
    exit_code: a.exitCode,
    signal: orNull(a.signal),
    error: orNull(a.error),
    created_at: iso(a.createdAt),
    started_at: isoOrNull(a.startedAt),
    finished_at: isoOrNull(a.finishedAt),
  };
}

export function jobDetailView({ job, attempts }: JobDetail): JobDetailView {
  return { ...jobView(job), attempts: attempts.map(attemptView) };
}

/** The original `/query` answer: its three fields first, in their order, then ours. */
export function queryView({ job }: JobDetail): OriginalQueryResult {
  const done = isFinal(job.state);
  return {
    done,
    error: done && job.state !== 'succeeded',
    error_text: job.error,
    state: job.state,
    exit_code: job.exitCode,
    signal: orNull(job.signal),
  };
}
