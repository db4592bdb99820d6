/**
 * Slows down guessing: an address that presented `maxFailures` bad tokens within `windowMs`
 * is refused (429) until the oldest of those failures leaves the window. Pure: the caller
 * passes the time, nothing here sets a timer. Memory is bounded: at most `maxFailures`
 * times per address and `maxTracked` addresses (the least recently failing is forgotten).
 */
export interface ThrottleRule {
  maxFailures: number;
  windowMs: number;
  maxTracked: number;
}

export const DEFAULT_THROTTLE: ThrottleRule = { maxFailures: 10, windowMs: 60_000, maxTracked: 10_000 };

export class FailureThrottle {
  /** Address → times of its recent failures, oldest first. */
  private readonly failures = new Map<string, number[]>();

  constructor(readonly rule: ThrottleRule = DEFAULT_THROTTLE) {
    if (!(rule.maxFailures >= 1) || !(rule.windowMs > 0) || !(rule.maxTracked >= 1)) throw new Error('throttle rule: maxFailures, windowMs and maxTracked must be positive');
  }

  /** 0 when `address` may try now, else how many milliseconds it must wait. */
  retryAfterMs(address: string, now: number): number {
    const times = this.recent(address, now);
    if (times.length < this.rule.maxFailures) return 0;
    return Math.max(1, times[times.length - this.rule.maxFailures]! + this.rule.windowMs - now);
  }

  recordFailure(address: string, now: number): void {
    const times = this.recent(address, now);
    times.push(now);
    if (times.length > this.rule.maxFailures) times.splice(0, times.length - this.rule.maxFailures);
    // Re-insert so the map's order is least recently failing first.
    this.failures.delete(address);
    this.failures.set(address, times);
    while (this.failures.size > this.rule.maxTracked) this.failures.delete(this.failures.keys().next().value!);
  }

  /** Addresses currently tracked (for tests and metrics). */
  get tracked(): number {
    return this.failures.size;
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
