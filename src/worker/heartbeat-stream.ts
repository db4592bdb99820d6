import { Metadata, type ClientDuplexStream } from '@grpc/grpc-js';
import type { HeartbeatsRequest, HeartbeatsResponse, SchedulerServiceClient } from '../gen/baton/v1/scheduler.js';

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

type Call = ClientDuplexStream<HeartbeatsRequest, HeartbeatsResponse>;

/**
 * The worker's end of SchedulerService.Heartbeats: one long-lived stream to one scheduler,
 * each beat a message answered by one message, in order. A beat not answered in time, or a
 * stream that ends, fails every beat waiting on it and drops the stream; the next beat opens
 * a new one. A stream the scheduler ends with an error (NOT_FOUND: register again) fails the
 * waiting beats with that error.
 */
export class HeartbeatStream {
  private call: Call | undefined;
  private readonly waiting: Waiter[] = [];

  constructor(private readonly client: SchedulerServiceClient) {}

  /**
   * Resolves when the scheduler took the beat. `waitForReady` (used after a failure) lets a
   * new stream wait for the channel to reconnect instead of failing at once.
   */
  beat(request: HeartbeatsRequest, timeoutMs: number, waitForReady = false): Promise<void> {
    const call = (this.call ??= this.open(waitForReady));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.drop(call, new Error(`no answer to a heartbeat within ${timeoutMs} ms`)), timeoutMs);
      this.waiting.push({ resolve, reject, timer });
      call.write(request);
    });
  }

  /** Ends the stream; beats still waiting fail. */
  close(): void {
    if (this.call) this.drop(this.call, new Error('heartbeat stream closed'));
  }

  private open(waitForReady: boolean): Call {
    const call = this.client.heartbeats(new Metadata({ waitForReady }));
    call.on('data', () => {
      const waiter = this.waiting.shift();
      if (!waiter) return;
      clearTimeout(waiter.timer);
      waiter.resolve();
    });
    call.on('error', (err: Error) => this.drop(call, err));
    call.on('end', () => this.drop(call, new Error('the scheduler ended the heartbeat stream')));
    return call;
  }

  /** Fails the waiting beats with `err` and forgets `call`, if it is still the current stream. */
  private drop(call: Call, err: Error): void {
    if (this.call !== call) return;
    this.call = undefined;
    call.cancel();
    for (const waiter of this.waiting.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(err);
    }
  }
}
