/**
 * When a followed output stream that broke off is asked for again, and when not: the rules,
 * without I/O (./resumable-stream.ts does the asking). A stream breaks when the job's worker
 * goes away (killed, restarted, upgraded: its jobs run on under their supervisor) or the
 * scheduler does; the output file lives on with the job, so the reader asks again from the
 * byte it reached and gets the rest, with no byte twice.
 */
import { BatonApiError, BatonConnectionError } from './errors.js';

/** The first reopen goes at once (a body timeout, a blip); then waits double from this… */
export const FIRST_REOPEN_DELAY_MS = 100;
/** …up to this, about how long a restarting worker takes to be back. */
export const MAX_REOPEN_DELAY_MS = 2_000;
/** A scheduler that answers nothing (not even whether the job still runs) for this long: the reader gives up. */
export const SCHEDULER_AWAY_LIMIT_MS = 5 * 60_000;

/**
 * Whether a stream that failed with `err` may come back by asking again: the scheduler could
 * not be reached or cut the body off, or it could not reach the job's worker (502 unreachable,
 * 503 down, 504 timeout). Anything else (404, 409, 400…) is an answer and stays one.
 */
export function isResumable(err: unknown): boolean {
  if (err instanceof BatonConnectionError) return true;
  return err instanceof BatonApiError && (err.status === 502 || err.status === 503 || err.status === 504);
}

/** The pause before reopen number `tries` (0 for the first since the stream last worked). */
export function reopenDelayMs(tries: number): number {
  if (tries <= 0) return 0;
  return Math.min(MAX_REOPEN_DELAY_MS, FIRST_REOPEN_DELAY_MS * 2 ** (tries - 1));
}

/** What the reader learnt when it asked whether the attempt it follows is over. */
export type AttemptCheck = 'running' | 'over' | 'scheduler-away';

/**
 * After a reopen failed with a resumable error: try again, or give up with that error. Only
 * a check that says the attempt is over stops it at once: its output will not grow, and a
 * worker that cannot serve it now need not come back. The first reopen skips the check.
 */
export function afterFailedReopen(tries: number, check: AttemptCheck | undefined, schedulerAwayForMs: number): 'retry' | 'give-up' {
  if (tries === 0 || check === undefined) return 'retry';
  if (check === 'over') return 'give-up';
  if (check === 'scheduler-away' && schedulerAwayForMs >= SCHEDULER_AWAY_LIMIT_MS) return 'give-up';
  return 'retry';
}
