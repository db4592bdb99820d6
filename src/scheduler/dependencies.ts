/**
 * Dependencies between jobs (`after`, `after_condition`). Pure: reading a batch's references,
 * finding a cycle among them, and judging a waiting job from the states of the jobs it waits for.
 */
import { isFinal, type JobStateName } from './job-state.js';

export const AFTER_CONDITIONS = ['succeeded', 'finished'] as const;
/** succeeded: every job waited for must succeed; finished: each must end, whatever way (skipped included). */
export type AfterCondition = (typeof AFTER_CONDITIONS)[number];

export interface Dependencies {
  /** Ids of the jobs waited for. */
  readonly after: readonly string[];
  readonly condition: AfterCondition;
}

/** What a waiting job does now. */
export type Verdict = { kind: 'ready' } | { kind: 'wait'; reason: string } | { kind: 'skip'; reason: string };

/** A bad reference in a batch: where (`jobs[1].after[0]`) and what is wrong. */
export class BadReference extends Error {}

/**
 * Each job's `after` with batch references ("#0": the first job of the batch) replaced by the
 * id of that job (`ids`, in batch order). Throws BadReference for a reference out of range, a
 * job waiting for itself, or a cycle among the batch's jobs (the only jobs that can form one:
 * a stored job never waits for a new one).
 */
export function resolveBatch(afters: readonly (readonly string[])[], ids: readonly string[]): string[][] {
  // A single job's field is `after`, a batch's `jobs[i].after`.
  const where = (i: number): string => (ids.length > 1 ? `jobs[${i}].after` : 'after');
  const edges = afters.map((after, i) =>
    after.map((ref, k) => {
      if (!ref.startsWith('#')) return ref;
      const n = /^#(0|[1-9]\d*)$/.test(ref) ? Number(ref.slice(1)) : NaN;
      if (!(n < ids.length)) throw new BadReference(`${where(i)}[${k}]: "${ref}" names no job of this batch (it has ${ids.length}: #0 to #${ids.length - 1})`);
      return n;
    }),
  );
  const cycle = findCycle(edges.map((after) => after.filter((x): x is number => typeof x === 'number')));
  if (cycle) throw new BadReference(`${where(cycle[0]!)}: the batch's jobs wait for each other in a cycle (${cycle.map((i) => `#${i}`).join(' → ')})`);
  return edges.map((after) => after.map((x) => (typeof x === 'number' ? ids[x]! : x)));
}

/** A cycle in the graph `edges[i]` (i waits for each of them), as the nodes along it, first one repeated at the end; undefined when there is none. */
export function findCycle(edges: readonly (readonly number[])[]): number[] | undefined {
  // 0: not seen, 1: on the current path, 2: done.
  const mark = new Array<number>(edges.length).fill(0);
  const path: number[] = [];
  const visit = (i: number): number[] | undefined => {
    mark[i] = 1;
    path.push(i);
    for (const j of edges[i]!) {
      if (mark[j] === 1) return [...path.slice(path.indexOf(j)), j];
      if (mark[j] === 0) {
        const found = visit(j);
        if (found) return found;
      }
    }
    path.pop();
    mark[i] = 2;
    return undefined;
  };
  for (let i = 0; i < edges.length; i++) {
    if (mark[i] !== 0) continue;
    const found = visit(i);
    if (found) return found;
  }
  return undefined;
}

/**
 * What a waited-for job is now: its state, or GONE when the store no longer has it (a job is
 * stored before any job can name it, and only --job-retention deletes one, once it has ended).
 */
export type DependencyState = JobStateName | typeof GONE;
export const GONE = 'gone';

/**
 * A waiting job judged from the states of the jobs it waits for (`states`: by id; a job
 * missing from it counts as not ended). It is skipped as soon as one has ended in a way that
 * fails the condition, ready once every one has ended, and waits otherwise. A job GONE has
 * ended, but how is lost: it will do for `finished`; `succeeded` skips rather than wait for
 * ever or run on a guess.
 */
export function judge(deps: Dependencies, states: ReadonlyMap<string, DependencyState>): Verdict {
  const pending: string[] = [];
  for (const id of deps.after) {
    const state = states.get(id);
    if (state === GONE) {
      if (deps.condition === 'succeeded') return { kind: 'skip', reason: `job ${id} was deleted (--job-retention) before this job could see it succeed` };
    } else if (state === undefined || !isFinal(state)) pending.push(id);
    else if (deps.condition === 'succeeded' && state !== 'succeeded') return { kind: 'skip', reason: `job ${id} ended ${state}, and this job runs only after it succeeds` };
  }
  return pending.length === 0 ? { kind: 'ready' } : { kind: 'wait', reason: waitReason(pending, deps.condition) };
}

/** `waiting for 0193… and 0194… to succeed`. */
export function waitReason(pending: readonly string[], condition: AfterCondition): string {
  const names = pending.length === 1 ? pending[0] : `${pending.slice(0, -1).join(', ')} and ${pending.at(-1)}`;
  return `waiting for ${pending.length === 1 ? 'job' : 'jobs'} ${names} to ${condition === 'succeeded' ? 'succeed' : 'finish'}`;
}
