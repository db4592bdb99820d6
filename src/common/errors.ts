import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';

/**
 * The error catalogue: every failure Baton reports to a caller has a code here,
 * with the HTTP status and gRPC status it maps to. Code throws BatonError; only the
 * edges (HTTP handlers, gRPC handlers) turn it into a wire answer.
 */
export const ERRORS = {
  BAD_REQUEST: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT },
  UNAUTHENTICATED: { http: 401, grpc: GrpcStatus.UNAUTHENTICATED },
  FORBIDDEN: { http: 403, grpc: GrpcStatus.PERMISSION_DENIED },
  NOT_FOUND: { http: 404, grpc: GrpcStatus.NOT_FOUND },
  CONFLICT: { http: 409, grpc: GrpcStatus.FAILED_PRECONDITION },
  ALREADY_EXISTS: { http: 409, grpc: GrpcStatus.ALREADY_EXISTS },
  PAYLOAD_TOO_LARGE: { http: 413, grpc: GrpcStatus.RESOURCE_EXHAUSTED },
  OVERLOADED: { http: 503, grpc: GrpcStatus.RESOURCE_EXHAUSTED },
  QUEUE_FULL: { http: 429, grpc: GrpcStatus.RESOURCE_EXHAUSTED },
  WORKER_UNREACHABLE: { http: 502, grpc: GrpcStatus.UNAVAILABLE },
  WORKER_UNAVAILABLE: { http: 503, grpc: GrpcStatus.UNAVAILABLE },
  WORKER_TIMEOUT: { http: 504, grpc: GrpcStatus.DEADLINE_EXCEEDED },
  INTERNAL: { http: 500, grpc: GrpcStatus.INTERNAL },
} as const;

export type ErrorCode = keyof typeof ERRORS;

/** Is `code` one of ours (as stored with a job's error)? */
export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERRORS, code);
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

/** A gRPC error to hand to a unary callback or `call.destroy()`. */
export function toGrpcError(err: unknown): Partial<ServiceError> {
  if (err instanceof BatonError) return { code: err.grpcStatus, details: err.message, message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  return { code: GrpcStatus.INTERNAL, details: message, message };
}

export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number' && 'details' in err;
}

/**
 * Translates a failed call to a worker into the error the API caller sees.
 * `who` names the worker ("worker w-1 at 127.0.0.1:7072") so the message says where.
 */
export function fromWorkerCallError(err: unknown, who: string): BatonError {
  if (!isServiceError(err)) return new BatonError('INTERNAL', `call to ${who} failed: ${String(err)}`);
  switch (err.code) {
    case GrpcStatus.INVALID_ARGUMENT:
      return new BatonError('BAD_REQUEST', err.details);
    case GrpcStatus.NOT_FOUND:
      return new BatonError('NOT_FOUND', err.details);
    case GrpcStatus.FAILED_PRECONDITION:
      return new BatonError('CONFLICT', err.details);
    case GrpcStatus.ALREADY_EXISTS:
      return new BatonError('ALREADY_EXISTS', err.details);
    case GrpcStatus.PERMISSION_DENIED:
      return new BatonError('FORBIDDEN', err.details);
    case GrpcStatus.RESOURCE_EXHAUSTED:
      return new BatonError('OVERLOADED', `${who} is at capacity: ${err.details}`);
    case GrpcStatus.DEADLINE_EXCEEDED:
      return new BatonError('WORKER_TIMEOUT', `${who} did not answer in time; it may be overloaded or hung`);
    case GrpcStatus.UNAVAILABLE:
      return new BatonError('WORKER_UNREACHABLE', `${who} is unreachable (${err.details}); is the worker running?`);
    default:
      return new BatonError('WORKER_UNREACHABLE', `${who} failed: ${err.details || err.message}`);
  }
}
