/**
 * The decision half of a dispatch pass: which queued jobs start where, and why each of the
 * others waits. Pure (no I/O, no clock, no randomness): the dispatcher hands it the queue, a
 * snapshot of the workers and the time, and carries the plan out itself.
 *
 * Jobs are taken by priority (high first), then arrival, and each is placed (`place`) on the
 * snapshot as the starts before it left it: a start takes its slot before the next job is
 * looked at, so a pass never gives a worker more than its room, and a job never takes a slot
 * an earlier one could have used. A job with a concurrency key starts only while its key has
 * room (`KeyGate`), counting the key's jobs already dispatched or running and this pass's starts.
 */
import { KeyGate, type ConcurrencyRule } from './concurrency.js';
import { formatLabels, place, type JobNeeds, type WorkerSnapshot } from './placement.js';

/** What planning needs of a queued job. */
export interface QueuedJob {
  /** Time-ordered (UUIDv7): a lower id arrived first. */
  readonly id: string;
  /** Higher first. */
  readonly priority: number;
  /** Every one must be on the worker with the same value. */
  readonly labels: Readonly<Record<string, string>>;
  /** The worker the caller named; '' lets placement choose. */
  readonly pinnedWorker: string;
  /** A retry is not started before this time (ms since the epoch); null or absent: now. */
  readonly nextAttemptAt?: number | null;
  /** At most `limit` jobs of its key dispatched or running at once (concurrency.ts); null or absent: none. */
  readonly concurrency?: ConcurrencyRule | null;
}

export interface Start<J> {
  job: J;
  workerId: string;
}

export interface Wait<J> {
  job: J;
  /** For a person: "no worker has labels gpu=true", "next attempt at 2026-…". */
  reason: string;
  /** Set when the job is a retry not yet due: when it is. */
  retryAt?: number;
}

export interface Plan<J> {
  /** In the order decided: priority, then arrival. */
  starts: Start<J>[];
  /** Every queued job not started nor skipped, in the same order. */
  waits: Wait<J>[];
  /** Jobs whose key is at its limit and that asked to be skipped then (on_limit skip): they end, skipped, with the reason. */
  skips: Wait<J>[];
  /** Jobs whose key is at its limit and that asked for the key's running jobs to be stopped (on_limit cancel_in_progress); each also waits. */
  cancels: { job: J; stop: readonly string[] }[];
  /** The earliest `retryAt` of the waits, when there is one: a pass is due then. */
  nextRetryAt: number | undefined;
}

/** Priority high to low, then arrival (ids are time-ordered). */
export function queueOrder(a: QueuedJob, b: QueuedJob): number {
  return b.priority - a.priority || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * One pass over `queue` (any order) against `workers` (left unchanged) at `now`; `active` lists,
 * per concurrency key, the jobs of the key already dispatched or running. Linear in the
 * queue once sorted (and sorting a queue already in order is one walk): a job that cannot be
 * placed gets the answer of the first job with the same needs, since starts only take room
 * and a refusal holds, word for word, for the rest of the pass.
 */
export function planPass<J extends QueuedJob>(
  queue: Iterable<J>,
  workers: readonly WorkerSnapshot[],
  now: number,
  active: ReadonlyMap<string, readonly string[]> = new Map(),
): Plan<J> {
  const room = workers.map((w) => ({ ...w }));
  const byId = new Map(room.map((w) => [w.id, w]));
  const refusals = new Map<string, string>();
  const gate = new KeyGate(active);
  const plan: Plan<J> = { starts: [], waits: [], skips: [], cancels: [], nextRetryAt: undefined };
  for (const job of Array.from(queue).sort(queueOrder)) {
    const retryAt = job.nextAttemptAt;
    if (retryAt != null && retryAt > now) {
      plan.waits.push({ job, reason: `next attempt at ${new Date(retryAt).toISOString()}`, retryAt });
      if (plan.nextRetryAt === undefined || retryAt < plan.nextRetryAt) plan.nextRetryAt = retryAt;
      continue;
    }
    const held = gate.refusal(job);
    if (held !== undefined) {
      const rule = job.concurrency!;
      if (rule.onLimit === 'skip') {
        plan.skips.push({ job, reason: held });
        continue;
      }
      const stop = rule.onLimit === 'cancel_in_progress' ? gate.running(rule.key) : [];
      if (stop.length > 0) plan.cancels.push({ job, stop: [...stop] });
      plan.waits.push({ job, reason: stop.length > 0 ? `${held}; stopping them (on_limit cancel_in_progress)` : held });
      continue;
    }
    const needs = `${job.pinnedWorker}\n${formatLabels(job.labels)}`;
    const refused = refusals.get(needs);
    const decision = refused === undefined ? place(needsOf(job), room) : { reason: refused };
    if ('reason' in decision) {
      refusals.set(needs, decision.reason);
      plan.waits.push({ job, reason: decision.reason });
      continue;
    }
    byId.get(decision.workerId)!.running++;
    gate.take(job);
    plan.starts.push({ job, workerId: decision.workerId });
  }
  return plan;
}

function needsOf(job: QueuedJob): JobNeeds {
  return job.pinnedWorker === '' ? { labels: job.labels } : { labels: job.labels, pinnedWorker: job.pinnedWorker };
}
