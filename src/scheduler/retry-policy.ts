/**
 * Whether a job gets another attempt after one ended badly, and when. Pure: the clock and
 * the jitter are inputs, so the table test beside it covers every rule.
 */

export const RETRY_OUTCOMES = ['failed', 'lost', 'timed_out'] as const;
export type RetryOutcome = (typeof RETRY_OUTCOMES)[number];

export interface RetryPolicy {
  /** Attempts in all, the first included (1: never retry). */
  maxAttempts: number;
  /** Delay before attempt n+1 is base·2^(n-1), at most cap, then jittered. */
  backoffBaseMs: number;
  backoffCapMs: number;
  /** Which endings are worth another attempt. */
  on: RetryOutcome[];
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 1, backoffBaseMs: 1_000, backoffCapMs: 60_000, on: ['lost'] };

export type RetryDecision = { retryAt: number } | { giveUp: string };

export function isRetryOutcome(state: string): state is RetryOutcome {
  return (RETRY_OUTCOMES as readonly string[]).includes(state);
}

/**
 * `attempt` is the number of the attempt that just ended (1 for the first); `jitter` is in
 * [0, 1): the delay is spread over its upper half ("equal jitter"), so retries of many jobs
 * lost together do not land at once, yet none comes sooner than half the backoff.
 */
export function decideRetry(policy: RetryPolicy, attempt: number, outcome: RetryOutcome, now: number, jitter: number): RetryDecision {
  if (!policy.on.includes(outcome)) return { giveUp: `the retry policy does not retry "${outcome}"` };
  if (attempt >= policy.maxAttempts) return { giveUp: `attempt ${attempt} of ${policy.maxAttempts}: no attempts left` };
  const backoff = Math.min(policy.backoffCapMs, policy.backoffBaseMs * 2 ** (attempt - 1));
  return { retryAt: now + Math.round(backoff / 2 + (backoff / 2) * jitter) };
}
