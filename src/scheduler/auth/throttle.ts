/**
 * Slows down guessing without ever shutting out a token holder. Each address has a budget of
 * `maxFailures` failed authentications within `windowMs`; once it is spent, further *failing*
 * attempts from that address are refused (429) until the oldest of those failures leaves the
 * window. A valid token is judged before the budget is looked at and is always served: the
 * token's 256 random bits are what defeat guessing, the budget is what makes a guesser (or a
 * client stuck on a bad token) cheap, visible and told to back off.
 *
 * Pure: the caller passes the time, nothing here sets a timer. Memory is bounded: at most
 * `maxFailures` times per address and `maxTracked` addresses (the least recently failing is forgotten).
 */
export interface ThrottleRule {
  maxFailures: number;
  windowMs: number;
  maxTracked: number;
}

export const DEFAULT_THROTTLE: ThrottleRule = { maxFailures: 10, windowMs: 60_000, maxTracked: 10_000 };

/**
 * What a request presented, as the authenticator judged it: a live token, a token that is not
 * one (unknown, revoked, malformed), or no Authorization header at all.
 */
export type Attempt = 'valid' | 'invalid' | 'missing';

/** serve it; answer 401; or answer 429 with Retry-After. */
export type Verdict = { action: 'serve' } | { action: 'unauthorized' } | { action: 'throttled'; retryAfterMs: number };

export class FailureThrottle {
  /** Address → times of its recent failures, oldest first. */
  private readonly failures = new Map<string, number[]>();

  constructor(readonly rule: ThrottleRule = DEFAULT_THROTTLE) {
    if (!(rule.maxFailures >= 1) || !(rule.windowMs > 0) || !(rule.maxTracked >= 1)) throw new Error('throttle rule: maxFailures, windowMs and maxTracked must be positive');
  }

  /**
   * The answer to an attempt from `address`. A missing header is refused like a bad token once
   * the budget is spent, but does not spend it: a browser's first visit is not a guess. A
   * refused (429) attempt does not spend it either, so a spent budget comes back on its own.
   */
  judge(address: string, attempt: Attempt, now: number): Verdict {
    if (attempt === 'valid') return { action: 'serve' };
    const waitMs = this.retryAfterMs(address, now);
    if (waitMs > 0) return { action: 'throttled', retryAfterMs: waitMs };
    if (attempt === 'invalid') this.recordFailure(address, now);
    return { action: 'unauthorized' };
  }

  /** Addresses currently tracked (for tests and metrics). */
  get tracked(): number {
    return this.failures.size;
  }

  /** 0 while `address` has budget left, else how many milliseconds until it has some again. */
  private retryAfterMs(address: string, now: number): number {
    const times = this.recent(address, now);
    if (times.length < this.rule.maxFailures) return 0;
    return Math.max(1, times[times.length - this.rule.maxFailures]! + this.rule.windowMs - now);
  }

  private recordFailure(address: string, now: number): void {
    const times = this.recent(address, now);
    // Never past maxFailures: a spent budget records nothing more.
    times.push(now);
    // Re-insert so the map's order is least recently failing first.
    this.failures.delete(address);
    this.failures.set(address, times);
    while (this.failures.size > this.rule.maxTracked) this.failures.delete(this.failures.keys().next().value!);
  }

  private recent(address: string, now: number): number[] {
    const times = this.failures.get(address);
    if (!times) return [];
    const from = times.findIndex((t) => t > now - this.rule.windowMs);
    if (from === -1) {
      this.failures.delete(address);
      return [];
    }
    if (from > 0) times.splice(0, from);
    return times;
  }
}
