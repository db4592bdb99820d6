import { Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';

interface CatalogueEntry {
  http: number;
  grpc: GrpcStatus;
  /** One line for the README's table (checked against it by test/errors.test.ts). */
  meaning: string;
}

/**
 * The error catalogue: every failure Baton reports to a caller has a code here, with the
 * HTTP status and gRPC status it maps to. Code throws BatonError; only the edges (HTTP
 * handlers, gRPC handlers) turn it into a wire answer. On the wire a code is its key in
 * lower case (`WORKER_DOWN` → `worker_down`); the store keeps the key. A code is finer than
 * its status where a program would act differently. The first entry of a status is the one
 * used for a framework error that has only a status.
 */
export const ERRORS = {
  BAD_REQUEST: {
    http: 400,
    grpc: GrpcStatus.INVALID_ARGUMENT,
    meaning:
      'the request is not valid: not JSON, a field missing, unknown, of the wrong type or out of range, or a value the worker refused (a path outside the jobs folder…); the message names it',
  },
  COMMAND_NOT_FOUND: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, meaning: 'the worker has no such program on its PATH (`baton run` exits 127)' },
  COMMAND_NOT_EXECUTABLE: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, meaning: 'the command is a file in the jobs folder without execute permission (`baton run` exits 126)' },
  UNAUTHENTICATED: { http: 401, grpc: GrpcStatus.UNAUTHENTICATED, meaning: 'no API token, or one that is unknown or revoked' },
  FORBIDDEN: { http: 403, grpc: GrpcStatus.PERMISSION_DENIED, meaning: "the token's role does not allow this call" },
  NOT_FOUND: { http: 404, grpc: GrpcStatus.NOT_FOUND, meaning: 'no such route, or no live token by that name' },
  JOB_NOT_FOUND: { http: 404, grpc: GrpcStatus.NOT_FOUND, meaning: 'no job with that id (on that worker, for the original calls)' },
  WORKER_NOT_FOUND: { http: 404, grpc: GrpcStatus.NOT_FOUND, meaning: 'no worker with that id has ever registered' },
  SCHEDULE_NOT_FOUND: { http: 404, grpc: GrpcStatus.NOT_FOUND, meaning: 'no schedule with that name' },
  REQUEST_TIMEOUT: { http: 408, grpc: GrpcStatus.DEADLINE_EXCEEDED, meaning: 'the request was not received in time' },
  WRONG_STATE: { http: 409, grpc: GrpcStatus.FAILED_PRECONDITION, meaning: "the job's state does not allow this: it already ended, or it is queued and has no output yet" },
  OUTPUT_NOT_SPLIT: {
    http: 409,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    meaning:
      "`stream` asked of an attempt whose stdout and stderr were not kept apart (an earlier release's supervisor ran it, or its runs passed 1/16 of the output cap): read it without `stream`",
  },
  NO_WORKER: { http: 409, grpc: GrpcStatus.FAILED_PRECONDITION, meaning: '`run_on: "all"` found no worker that is up, not draining and has the labels' },
  WORKER_UP: {
    http: 409,
    grpc: GrpcStatus.FAILED_PRECONDITION,
    meaning: 'the worker is up: only one that is down or deregistered can be removed (stop it first; `baton drain` keeps jobs off it)',
  },
  ALREADY_EXISTS: { http: 409, grpc: GrpcStatus.ALREADY_EXISTS, meaning: 'a token or schedule with that name exists (or the worker already has a job with that id)' },
  IDEMPOTENCY_KEY_REUSED: { http: 409, grpc: GrpcStatus.ALREADY_EXISTS, meaning: 'the `Idempotency-Key` was first used with a different request; use a new key' },
  OUTPUT_PRUNED: {
    http: 410,
    grpc: GrpcStatus.NOT_FOUND,
    meaning: "the job's output was deleted by `--output-retention`, the output disk budget or `--job-retention`; the message says when and why",
  },
  PAYLOAD_TOO_LARGE: { http: 413, grpc: GrpcStatus.RESOURCE_EXHAUSTED, meaning: 'the body is over `--body-limit`, or the job is too large to send to a worker' },
  URI_TOO_LONG: { http: 414, grpc: GrpcStatus.INVALID_ARGUMENT, meaning: 'a part of the URL path is longer than the router accepts' },
  RANGE_NOT_SATISFIABLE: {
    http: 416,
    grpc: GrpcStatus.OUT_OF_RANGE,
    meaning: "the `Range` starts past the output's end (`Content-Range: bytes */SIZE` gives its size now)",
  },
  QUEUE_FULL: { http: 429, grpc: GrpcStatus.RESOURCE_EXHAUSTED, meaning: 'the queue holds `--max-queued` jobs; try again after `Retry-After` seconds' },
  RATE_LIMITED: { http: 429, grpc: GrpcStatus.RESOURCE_EXHAUSTED, meaning: 'too many failed authentications; try again after `Retry-After` seconds' },
  HEADERS_TOO_LARGE: { http: 431, grpc: GrpcStatus.INVALID_ARGUMENT, meaning: 'the request headers are too large' },
  INTERNAL: { http: 500, grpc: GrpcStatus.INTERNAL, meaning: 'a bug or a failure inside Baton; the scheduler or worker log says more' },
  WORKER_UNREACHABLE: { http: 502, grpc: GrpcStatus.UNAVAILABLE, meaning: 'the scheduler could not reach the worker, or the worker failed the call' },
  UNAVAILABLE: {
    http: 503,
    grpc: GrpcStatus.UNAVAILABLE,
    meaning: 'the scheduler cannot serve this now: its store does not answer (`/readyz`), it is shutting down, or its dashboard is not built',
  },
  WORKER_DOWN: {
    http: 503,
    grpc: GrpcStatus.UNAVAILABLE,
    meaning: 'the named worker is down, deregistered, draining or not connected: it takes no job now (name another, or none)',
  },
  WORKER_FULL: { http: 503, grpc: GrpcStatus.RESOURCE_EXHAUSTED, meaning: 'the worker refused the call for lack of room' },
  WORKER_TIMEOUT: { http: 504, grpc: GrpcStatus.DEADLINE_EXCEEDED, meaning: 'the worker did not answer in time; it may be overloaded or hung' },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof ERRORS;

/** A code as callers see it: `worker_down`. */
export type WireCode = Lowercase<ErrorCode>;

export function wireCode(code: ErrorCode): WireCode {
  return code.toLowerCase() as WireCode;
}

/** Every code callers can see, in catalogue order: the API document lists them. */
export const WIRE_CODES = (Object.keys(ERRORS) as ErrorCode[]).map(wireCode);

/** Is `code` one of ours (as stored with a job's error)? */
export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERRORS, code);
}

/** The code of an error that has only an HTTP status (a framework's): the catalogue's first with that status, else BAD_REQUEST. */
export function codeForStatus(status: number): ErrorCode {
  return (Object.keys(ERRORS) as ErrorCode[]).find((code) => ERRORS[code].http === status) ?? 'BAD_REQUEST';
}

/** The body of every HTTP error answer. */
export function errorBody(code: ErrorCode, message: string): { error: string; code: WireCode } {
  return { error: capped(message, MAX_MESSAGE), code: wireCode(code) };
}

/** Longest value quoted back in a message: an error names what was wrong, it does not echo megabytes of it. */
const MAX_ECHO = 100;
/** Longest message sent at all (a last guard: a long one overflowed the gRPC trailer once, and hung the call). */
const MAX_MESSAGE = 2_000;

function capped(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}

/** A caller's value for a message: as given when short, else its start and its length. */
export function echo(value: string): string {
  return capped(value, MAX_ECHO);
}

export class BatonError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** When to try again, for answers that say "not now" (HTTP Retry-After). */
    readonly retryAfterS?: number,
  ) {
    super(message);
    this.name = 'BatonError';
  }

  get httpStatus(): number {
    return ERRORS[this.code].http;
  }

  get grpcStatus(): GrpcStatus {
    return ERRORS[this.code].grpc;
  }
}

/** The trailer that carries a BatonError's code across a gRPC call, where the status alone is coarser. */
const CODE_TRAILER = 'baton-error-code';

/** Trailers carrying a catalogue code (none for ''). */
export function codeTrailers(code: string): Metadata {
  const metadata = new Metadata();
  if (code !== '') metadata.set(CODE_TRAILER, code);
  return metadata;
}

/** A gRPC error to hand to a unary callback or `call.destroy()`. */
export function toGrpcError(err: unknown): Partial<ServiceError> {
  if (err instanceof BatonError) {
    const message = capped(err.message, MAX_MESSAGE);
    return { code: err.grpcStatus, details: message, message, metadata: codeTrailers(err.code) };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: GrpcStatus.INTERNAL, details: message, message };
}

export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number' && 'details' in err;
}

/** The catalogue code a Baton peer sent with `err`, when it agrees with the gRPC status. */
function sentCode(err: ServiceError): ErrorCode | undefined {
  const [value] = err.metadata?.get(CODE_TRAILER) ?? [];
  const code = typeof value === 'string' ? value : undefined;
  return code !== undefined && isErrorCode(code) && ERRORS[code].grpc === err.code ? code : undefined;
}

/**
 * Translates a failed call to a worker into the error the API caller sees.
 * `who` names the worker ("worker w-1 at 127.0.0.1:7072") so the message says where.
 */
export function fromWorkerCallError(err: unknown, who: string): BatonError {
  if (!isServiceError(err)) return new BatonError('INTERNAL', `call to ${who} failed: ${String(err)}`);
  const sent = sentCode(err);
  switch (err.code) {
    case GrpcStatus.INVALID_ARGUMENT:
      return new BatonError(sent ?? 'BAD_REQUEST', err.details);
    case GrpcStatus.NOT_FOUND:
      return new BatonError('JOB_NOT_FOUND', err.details);
    case GrpcStatus.FAILED_PRECONDITION:
      return new BatonError(sent ?? 'WRONG_STATE', err.details);
    case GrpcStatus.ALREADY_EXISTS:
      return new BatonError('ALREADY_EXISTS', err.details);
    case GrpcStatus.PERMISSION_DENIED:
      return new BatonError('FORBIDDEN', err.details);
    case GrpcStatus.RESOURCE_EXHAUSTED:
      return new BatonError('WORKER_FULL', `${who} is at capacity: ${err.details}`);
    case GrpcStatus.DEADLINE_EXCEEDED:
      return new BatonError('WORKER_TIMEOUT', `${who} did not answer in time; it may be overloaded or hung`);
    case GrpcStatus.UNAVAILABLE:
      if (sent === 'WORKER_DOWN') return new BatonError('WORKER_DOWN', `${who} is down (${err.details}); name another worker, or none`);
      return new BatonError('WORKER_UNREACHABLE', `${who} is unreachable (${err.details}); is the worker running?`);
    default:
      return new BatonError('WORKER_UNREACHABLE', `${who} failed: ${err.details || err.message}`);
  }
}
