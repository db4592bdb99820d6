export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  /** Fraction of the delay added or removed at random, so restarted workers do not retry in lockstep. */
  jitter: number;
}

// Capped at 1 s (the worker's channel to the scheduler reconnects as often, worker.ts): a
// restarted scheduler hears from every worker within ~1 s, well inside the grace it gives them
// (registry.ts), and a thousand workers retrying once a second is no load.
export const REGISTRATION_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 1_000, jitter: 0.2 };

/**
 * Delay before retry number `attempt` (0 for the first retry): doubling from
 * `initialMs`, never above `maxMs`. `random` is in [0, 1) (Math.random in production). Pure.
 */
export function backoffDelayMs(attempt: number, random: number, policy: BackoffPolicy = REGISTRATION_BACKOFF): number {
  const exponential = policy.initialMs * 2 ** Math.min(attempt, 30);
  const capped = Math.min(policy.maxMs, exponential);
  const jittered = capped * (1 - policy.jitter + 2 * policy.jitter * random);
  return Math.round(Math.min(policy.maxMs, jittered));
}
