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
 * The earliest retry left waiting once a pass is done: what the next `Settled` keeps, and when
 * the next pass must run. A pass that planned only the fresh jobs did not look at the retries
 * the last one left waiting, so theirs still stands: a timer may fire a moment before the retry's
 * time (timers run on the monotonic clock, to the millisecond), and the pass it makes, planning
 * only fresh jobs then, must arm the next one, or the retry waits for whatever pass comes next.
 */
export function retryAfterPass(last: Settled | undefined, onlyFresh: boolean, planned: number | undefined): number | undefined {
  return onlyFresh ? earliest(last?.nextRetryAt, planned) : planned;
}
