/**
 * When the client asks again: an answer 429 (too many requests, a full queue) or 503 (not now)
 * that says when to come back (`Retry-After`) is tried again after that long. Without the
 * header the answer is the scheduler's verdict (`worker_down`, …) and is reported at once; so is
 * a `rate_limited` (a bad token does not get better by waiting).
 * Pure, except `sleep`.
 */
export interface RetryAfterPolicy {
  /** How many times a call is tried again; 0: never. */
  retries: number;
  /** A `Retry-After` longer than this is not waited for: the answer is reported at once. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryAfterPolicy = { retries: 3, maxDelayMs: 30_000 };

const RETRY_STATUSES: ReadonlySet<number> = new Set([429, 503]);
/**
 * 429s that waiting does not mend: `rate_limited` means too many failed authentications from
 * this address, so the token is what is wrong (a valid one is always served).
 */
const NOT_WORTH_WAITING: ReadonlySet<string> = new Set(['rate_limited']);

/** `Retry-After` (seconds, or an HTTP date) as milliseconds from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // An HTTP date names a day of the week; a bare number like "1.5" is not a valid header.
  if (!/^[A-Za-z]{3},/.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * How long to wait before trying the call again, or undefined to report this answer. `code` is
 * the answer's error code, if any; `triesSoFar` counts the tries made again already (0 after the
 * first answer).
 */
export function retryDelayMs(status: number, retryAfter: string | null, code: string | undefined, triesSoFar: number, policy: RetryAfterPolicy, now: number): number | undefined {
  if (!RETRY_STATUSES.has(status) || (code !== undefined && NOT_WORTH_WAITING.has(code)) || triesSoFar >= policy.retries) return undefined;
  const delay = parseRetryAfter(retryAfter, now);
  return delay !== undefined && delay <= policy.maxDelayMs ? delay : undefined;
}

/** Resolves after `ms`; rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    function onAbort(): void {
      clearTimeout(timer);
      reject(signal!.reason);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
