import type { CronTimes } from './cron.js';

/**
 * Pure: which ticks of a schedule are due now. A tick is a fire time of the cron expression.
 * `cursor` is the time up to which ticks were handled (fired, skipped or recorded missed); a
 * new schedule's cursor is its creation, and a resumed one's the moment it was resumed, so
 * ticks while it was paused neither run nor count as missed.
 */

/** Due ticks run at most this many at once (a second-by-second schedule with a long window). */
export const MAX_DUE = 1_000;
/** Missed ticks counted one by one at most this many; beyond, the count is a lower bound. */
export const MAX_MISSED_COUNT = 10_000;

export interface Missed {
  /** How many ticks were missed (at least, when `MAX_MISSED_COUNT` was reached). */
  count: number;
  first: number;
  last: number;
}

export interface TickPlan {
  /** Ticks to fire, oldest first: after the cursor, at or before now, no older than the window. */
  due: number[];
  /** Ticks after the cursor older than the catch-up window: recorded, not run. */
  missed: Missed | null;
  /** The new cursor: every tick at or before it is handled. */
  cursor: number;
  /** The next tick after now; null when paused or when the expression fires no more. */
  next: number | null;
}

export interface TickInput {
  times: CronTimes;
  catchupWindowMs: number;
  paused: boolean;
  cursor: number;
  now: number;
}

export function planTicks({ times, catchupWindowMs, paused, cursor, now }: TickInput): TickPlan {
  if (paused) return { due: [], missed: null, cursor: now, next: null };
  const oldestDue = now - catchupWindowMs;
  let missed: Missed | null = null;
  const due: number[] = [];
  for (let t = times.next(cursor); t !== null && t <= now; t = times.next(t)) {
    if (t >= oldestDue) {
      due.push(t);
      if (due.length === MAX_DUE) return { due, missed, cursor: t, next: times.next(t) };
      continue;
    }
    if (missed === null) missed = { count: 0, first: t, last: t };
    missed.count++;
    missed.last = t;
    if (missed.count === MAX_MISSED_COUNT) {
      // Jump to the last tick before the window rather than walk a year of seconds.
      const last = times.previous(oldestDue);
      if (last !== null && last > t) missed.last = last;
      t = missed.last;
    }
  }
  return { due, missed, cursor: Math.max(cursor, now), next: times.next(now) };
}
