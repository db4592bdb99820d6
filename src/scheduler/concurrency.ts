/**
 * Concurrency keys: at most `limit` jobs of a key dispatched or running at once, across the
 * fleet. Pure: the planner asks a `KeyGate` whether a job may start, and tells it each start.
 *
 * Jobs of one key may carry different limits. The rule: a job's own limit decides its own
 * admission (it starts while fewer than its limit of the key are dispatched or running), and a
 * job never overtakes an earlier job of its key that the key holds back, so a key's jobs start
 * in priority then arrival order whatever their limits.
 */

export const ON_LIMIT = ['queue', 'cancel_in_progress', 'skip'] as const;
export type OnLimit = (typeof ON_LIMIT)[number];

export interface ConcurrencyRule {
  readonly key: string;
  readonly limit: number;
  /** queue: wait for a free place; skip: end at once, skipped; cancel_in_progress: stop the key's running jobs and start after them. */
  readonly onLimit: OnLimit;
}

/** How many ids a reason names before it says "…". */
const NAMED_IDS = 3;

export class KeyGate {
  /** Per key, the jobs dispatched or running, this pass's starts included. */
  private readonly active = new Map<string, string[]>();
  /** Per key, the first job the key held back this pass: later jobs of the key wait behind it. */
  private readonly heldFirst = new Map<string, string>();

  /** `active`: per key, the ids of the jobs now dispatched or running (left unchanged). */
  constructor(active: ReadonlyMap<string, readonly string[]>) {
    for (const [key, ids] of active) this.active.set(key, [...ids]);
  }

  /** Why `job` may not start now, or undefined when its key (if any) has room for it. */
  refusal(job: { readonly id: string; readonly concurrency?: ConcurrencyRule | null }): string | undefined {
    const rule = job.concurrency;
    if (!rule) return undefined;
    const ahead = this.heldFirst.get(rule.key);
    if (ahead !== undefined) return `concurrency key ${rule.key}: waiting behind ${ahead}, an earlier job of the key`;
    const ids = this.active.get(rule.key) ?? [];
    if (ids.length < rule.limit) return undefined;
    // A job skipped at the limit leaves the queue: it holds nobody back.
    if (rule.onLimit !== 'skip') this.heldFirst.set(rule.key, job.id);
    return atLimit(rule.key, ids);
  }

  /** The jobs of `key` dispatched or running, this pass's starts included. */
  running(key: string): readonly string[] {
    return this.active.get(key) ?? [];
  }

  /** `job` starts: it counts against its key from now on. */
  take(job: { readonly id: string; readonly concurrency?: ConcurrencyRule | null }): void {
    if (job.concurrency) addTo(this.active, job.concurrency.key, job.id);
  }
}

/** `concurrency key deploy-prod is at its limit (1 running: 0193…)`. */
export function atLimit(key: string, ids: readonly string[]): string {
  const named = ids.slice(0, NAMED_IDS).join(', ') + (ids.length > NAMED_IDS ? ', …' : '');
  return `concurrency key ${key} is at its limit (${ids.length} running: ${named})`;
}

/** Per key, the ids of `jobs` that carry one: what a `KeyGate` starts from. */
export function activeByKey(jobs: Iterable<{ readonly id: string; readonly concurrency?: ConcurrencyRule | null }>): Map<string, string[]> {
  const byKey = new Map<string, string[]>();
  for (const job of jobs) if (job.concurrency) addTo(byKey, job.concurrency.key, job.id);
  return byKey;
}

function addTo(byKey: Map<string, string[]>, key: string, id: string): void {
  const ids = byKey.get(key);
  if (ids) ids.push(id);
  else byKey.set(key, [id]);
}
