import type { WireCode } from '../common/errors.js';

/** The two ways a call fails: the scheduler answered with an error, or it could not be reached. */

/** An error answer's `code`: one of the README's table (a newer scheduler may send others). */
export type ApiErrorCode = WireCode | (string & {});

export class BatonApiError extends Error {
  override readonly name = 'BatonApiError';

  constructor(
    /** The HTTP status (400, 404, 409, 503, …). */
    readonly status: number,
    /** The scheduler's `{"error": "..."}` text (or the status text when the body had none). */
    message: string,
    readonly method: string,
    readonly path: string,
    /**
     * The scheduler's `{"code": "..."}`, for programs to decide by (`worker_down`, `job_not_found`…):
     * the words in `message` may change, codes do not. Undefined when the answer had none (not the scheduler's).
     */
    readonly code?: ApiErrorCode,
  ) {
    super(message);
  }
}

export class BatonConnectionError extends Error {
  override readonly name = 'BatonConnectionError';

  constructor(
    /** The scheduler's base address, e.g. http://127.0.0.1:7070. */
    readonly address: string,
    /** What went wrong, in a few words: "connection refused", "host not found", … */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot reach the scheduler at ${address} (${reason}): is \`baton scheduler\` running?`, options);
  }
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EPIPE: 'connection closed',
  UND_ERR_SOCKET: 'connection closed',
  UND_ERR_CLOSED: 'connection closed',
  UND_ERR_HEADERS_TIMEOUT: 'no answer in time',
  UND_ERR_BODY_TIMEOUT: 'no data in time',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS certificate does not match the host',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed TLS certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS certificate not trusted',
  SELF_SIGNED_CERT_IN_CHAIN: 'TLS certificate not trusted',
  CERT_HAS_EXPIRED: 'TLS certificate expired',
  EPROTO: 'protocol error (TLS or plain HTTP mismatch?)',
};

/** The network error code behind a failed `fetch` (it wraps the socket error in `cause`, sometimes an AggregateError). */
export function networkErrorCode(err: unknown): string | undefined {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length > 0) {
    const e = queue.shift();
    if (e === null || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code in REASONS) return code;
    queue.push((e as { cause?: unknown }).cause);
    const inner = (e as { errors?: unknown }).errors;
    if (Array.isArray(inner)) queue.push(...(inner as unknown[]));
  }
  return undefined;
}

/** A few words for a network failure: "connection refused", or the error's own message. */
export function describeNetworkError(err: unknown): string {
  const code = networkErrorCode(err);
  if (code) return REASONS[code]!;
  const cause = (err as { cause?: unknown } | null)?.cause;
  if (cause instanceof Error && cause.message) return cause.message;
  return err instanceof Error ? err.message : String(err);
}

export function isAbortError(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError');
}
