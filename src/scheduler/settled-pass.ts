/**
 * When a dispatch pass may plan only the jobs queued since the last one. Pure.
 *
 * A pass plans the queue in order against the workers' room and the concurrency keys' room,
 * and a job it leaves waiting was refused with at least the room the pass ended with (starts
 * only take room, and a refusal with more room holds with less). So while the workers and the
 * keys are exactly as the last pass left them and no retry has come due, every job that pass left
 * waiting would wait again, with the same reason: only the jobs queued since need planning.
 * With a long queue and no room (100,000 jobs and every worker busy), this turns each
 * submission's pass from a walk over the whole queue into one over the new jobs.
 */
import type { WorkerSnapshot } from './placement.js';

/** What the last pass left: the workers as it left them, and the earliest retry it left waiting. */
export interface Settled {
  workers: string;
  nextRetryAt: number | undefined;
}

/**
 * Equal for two passes' inputs exactly when every decision over them is the same: the workers
 * (order included: placement breaks ties by it) and, per concurrency key, the jobs of the key
 * placed (`active`, as planPass takes it).
 */
export function workersKey(workers: readonly WorkerSnapshot[], active: ReadonlyMap<string, readonly string[]> = new Map()): string {
  return JSON.stringify([
    workers.map((w) => [w.id, w.state, Object.entries(w.labels).sort(), w.capacity, w.running, w.draining]),
    [...active].map(([key, ids]) => [key, [...ids].sort()]).sort(),
  ]);
}

/** Whether a pass over `workers` (keyed by `workersKey`) at `now` may plan only the jobs queued since `last`. */
export function freshOnly(last: Settled | undefined, workers: string, now: number): boolean {
  return last !== undefined && last.workers === workers && (last.nextRetryAt === undefined || now < last.nextRetryAt);
}

/** The earliest of two retry times, either possibly absent. */
export function earliest(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}

/**
 * What a pass leaves: the workers as it left them and the earliest retry still waiting, which
 * a pass must be armed for. A pass that planned only the fresh jobs did not see the queue's
 * retries, so the last pass's earliest stays: a timer that fires a moment early (it counts from
 * the event loop's time, which lags the clock while a callback runs) runs such a pass, and
 * must leave a wake for the retry it was set for.
 */
export function settle(last: Settled | undefined, onlyFresh: boolean, workers: string, plannedRetryAt: number | undefined): Settled {
  return { workers, nextRetryAt: onlyFresh ? earliest(last?.nextRetryAt, plannedRetryAt) : plannedRetryAt };
}
