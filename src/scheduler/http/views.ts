import type { JobDetail } from '../job-service.js';
import { isFinal } from '../job-state.js';
import type { WorkerEntry } from '../registry.js';
import type { AttemptRecord, JobRecord, TokenRecord } from '../store/store.js';

/** JSON shapes of the HTTP API (snake_case, ISO times, null for "not yet"). */

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

export function workerView(w: WorkerEntry) {
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
  };
}

export function jobView(job: JobRecord) {
  return {
    id: job.id,
    state: job.state,
    // null while queued: no worker has it yet.
    worker_id: job.workerId || null,
    reason: job.reason || null,
    labels: job.labels,
    priority: job.priority,
    pinned: job.pinnedWorker !== '',
    attempt: job.attempt,
    next_attempt_at: iso(job.nextAttemptAt),
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
    finished_at: iso(job.finishedAt),
    exit_code: job.exitCode,
    signal: job.signal || null,
    error: job.error || null,
    output_truncated: job.outputTruncated,
    timeout: job.timeoutMs > 0 ? job.timeoutMs / 1000 : null,
    parent_id: job.parentId || null,
    children: job.children,
    submitted_by: job.submittedBy || null,
    stopped_by: job.stoppedBy || null,
  };
}

/** Never the hash: it is of no use to a caller. */
export function tokenView(t: TokenRecord) {
  return { name: t.name, role: t.role, created_at: iso(t.createdAt), revoked_at: iso(t.revokedAt) };
}

function attemptView(a: AttemptRecord) {
  return {
    number: a.number,
    worker_id: a.workerId || null,
    state: a.state,
    exit_code: a.exitCode,
    signal: a.signal || null,
    error: a.error || null,
    created_at: iso(a.createdAt),
    started_at: iso(a.startedAt),
    finished_at: iso(a.finishedAt),
  };
}

export function jobDetailView({ job, attempts }: JobDetail) {
  return { ...jobView(job), attempts: attempts.map(attemptView) };
}

/** The original `/query` answer: its three fields first, in their order, then ours. */
export function queryView({ job }: JobDetail) {
  const done = isFinal(job.state);
  return {
    done,
    error: done && job.state !== 'succeeded',
    error_text: job.error,
    state: job.state,
    exit_code: job.exitCode,
    signal: job.signal || null,
  };
}
