/**
 * What the dispatcher keeps in memory of a job not yet final: for a queued job, what planning
 * needs (planner.ts's QueuedJob), its attempt and why it waits; for a placed one, what counts
 * against its worker and its concurrency key. The rest of a job (command, arguments,
 * environment, stdin, retry policy…) stays in the store: the conditional write that marks a
 * job dispatched returns it, when it is placed. A full record per queued job cost about 2 KB
 * of heap (each had a hidden class of its own), which made a long queue most of the
 * scheduler's memory.
 */
import type { ConcurrencyRule } from './concurrency.js';
import type { JobStateName } from './job-state.js';
import type { QueuedJob } from './planner.js';
import type { JobRecord } from './store/job-store.js';

export interface QueueEntry extends QueuedJob {
  readonly attempt: number;
  /** Why the job waits, as stored (a pass records a new reason only when it differs). */
  reason: string;
}

/** A job placed on a worker (dispatched or running), as the dispatcher counts it. */
export type PlacedJob = Pick<JobRecord, 'id' | 'attempt' | 'state' | 'concurrency'>;

/** Most jobs ask for no labels: one object for all of them rather than one each. */
const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});

export function queueEntry(job: JobRecord): QueueEntry {
  return {
    id: job.id,
    priority: job.priority,
    labels: hasKeys(job.labels) ? job.labels : NO_LABELS,
    pinnedWorker: job.pinnedWorker,
    nextAttemptAt: job.nextAttemptAt,
    concurrency: job.concurrency,
    attempt: job.attempt,
    reason: job.reason,
  };
}

export function placedJob(job: { id: string; attempt: number; concurrency?: ConcurrencyRule | null }, state: JobStateName): PlacedJob {
  return { id: job.id, attempt: job.attempt, state, concurrency: job.concurrency ?? null };
}

function hasKeys(labels: Readonly<Record<string, string>>): boolean {
  for (const _ in labels) return true;
  return false;
}
