import { status as GrpcStatus, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import type { StartJobRequest, StartJobResult, StartsRequest, StartsResponse, WorkerServiceClient } from '../gen/baton/v1/worker.js';
import { codeTrailers } from '../common/errors.js';

type StartsCall = ClientDuplexStream<StartsRequest, StartsResponse>;

/** A batch of starts sent on `call` and not yet answered. */
interface Sent {
  call: StartsCall;
  resolve: (results: StartJobResult[]) => void;
  reject: (err: ServiceError) => void;
  timer: NodeJS.Timeout;
}

/** An error as a failed call would carry it (code, details, a catalogue code), for callers that handle call errors. */
export function callError(code: GrpcStatus, details: string, errorCode = ''): ServiceError {
  return Object.assign(new Error(`${code} ${GrpcStatus[code]}: ${details}`), { code, details, metadata: codeTrailers(errorCode) });
}

/**
 * Starts sent to one worker on its long-lived Starts stream: a message per batch, answered by
 * one with the same seq. A round trip on an open stream costs a fraction of a unary call's
 * (no new HTTP/2 stream, headers, metadata or deadline; measured here, 0.13-0.7 ms against
 * 1.1-2.1 ms), and `POST /start` waits for one. Opened on first use, and again after it breaks.
 *
 * A batch unanswered within its timeout fails with DEADLINE_EXCEEDED and drops the stream (the
 * worker hangs: the next batch tries a new one); a broken stream fails every batch sent on it
 * with the stream's error (UNAVAILABLE when it never connected, as a unary call would).
 */
export class StartStream {
  private call: StartsCall | undefined;
  private seq = 0;
  private readonly sent = new Map<number, Sent>();

  constructor(private readonly client: WorkerServiceClient) {}

  send(jobs: StartJobRequest[], timeoutMs: number): Promise<StartJobResult[]> {
    const call = this.call ?? this.open();
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail(call, callError(GrpcStatus.DEADLINE_EXCEEDED, `the worker did not answer a start within ${timeoutMs} ms`)), timeoutMs);
      this.sent.set(seq, { call, resolve, reject, timer });
      call.write({ seq, jobs });
    });
  }

  close(): void {
    if (this.call) this.fail(this.call, callError(GrpcStatus.CANCELLED, 'the channel to the worker was closed'));
  }

  private open(): StartsCall {
    const call = this.client.starts();
    this.call = call;
    call.on('data', (res: StartsResponse) => {
      const sent = this.sent.get(res.seq);
      if (sent?.call !== call) return;
      this.sent.delete(res.seq);
      clearTimeout(sent.timer);
      sent.resolve(res.results);
    });
    call.on('error', (err: ServiceError) => this.fail(call, err));
    call.on('end', () => this.fail(call, callError(GrpcStatus.UNAVAILABLE, 'the worker closed its start stream')));
    return call;
  }

  /** `call` is done for: every batch sent on it fails with `err`; the next batch opens a new stream. */
  private fail(call: StartsCall, err: ServiceError): void {
    if (this.call === call) {
      this.call = undefined;
      call.cancel();
    }
    for (const [seq, sent] of this.sent) {
      if (sent.call !== call) continue;
      this.sent.delete(seq);
      clearTimeout(sent.timer);
      sent.reject(err);
    }
  }
}
