import { Metadata, status as GrpcStatus, type CallOptions, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../common/logger.js';
import { isServiceError } from '../common/errors.js';
import type { JobStatus } from '../gen/baton/v1/common.js';
import type { RegisterWorkerResponse, SchedulerServiceClient } from '../gen/baton/v1/scheduler.js';
import { backoffDelayMs } from './backoff.js';
import { HeartbeatStream } from './heartbeat-stream.js';

const REGISTER_DEADLINE_MS = 5_000;
// Used when the scheduler answers without an interval.
const DEFAULT_HEARTBEAT_INTERVAL_MS = 5_000;
/** With other schedulers to try, this many failed heartbeats in a row move the worker to the next one. */
const FAILOVER_AFTER_FAILURES = 2;

/** One scheduler the worker may register with. */
export interface SchedulerEndpoint {
  address: string;
  client: SchedulerServiceClient;
}

export interface RegistrationOptions {
  /** Tried in turn: a registration that fails, or heartbeats that keep failing, move on to the next. */
  schedulers: readonly SchedulerEndpoint[];
  workerId: string;
  /** Where the scheduler dials this worker. */
  address: string;
  labels: Record<string, string>;
  capacity: number;
  version: string;
  knownJobs: () => JobStatus[];
  activeJobCount: () => number;
  /** Each heartbeat's outcome (for /metrics). */
  onHeartbeat?: (ok: boolean) => void;
  log: Logger;
}

/**
 * Keeps this worker registered: registers (retrying with capped exponential backoff until
 * the scheduler answers), then heartbeats; a heartbeat answered NOT_FOUND (the scheduler
 * restarted and forgot us) starts over with a fresh registration.
 */
export class Registration {
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private draining = false;
  /** Index into `schedulers` of the one this worker talks to now. */
  private current = 0;
  /** Heartbeats to the current scheduler, while registered there. */
  private heartbeats: HeartbeatStream | undefined;

  constructor(private readonly options: RegistrationOptions) {
    if (options.schedulers.length === 0) throw new Error('a worker needs at least one scheduler address');
  }

  /** Registered with a scheduler and heartbeating there. */
  get registered(): boolean {
    return this.heartbeats !== undefined;
  }

  private get scheduler(): SchedulerEndpoint {
    return this.options.schedulers[this.current]!;
  }

  /** Moves on to the next scheduler of the list (the same one when there is only one). */
  private failOver(): void {
    const from = this.scheduler.address;
    this.current = (this.current + 1) % this.options.schedulers.length;
    if (this.scheduler.address !== from) this.options.log.warn({ scheduler: this.scheduler.address, previous: from }, 'trying the next scheduler');
  }

  start(): void {
    this.loop ??= this.run().catch((err: unknown) => this.options.log.error({ err }, 'registration loop failed; the scheduler will not hear from this worker'));
  }

  /** Stops registering and heartbeating, cancelling a call in flight. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  /**
   * From now on every heartbeat says the worker is draining, and one goes at once (when
   * registered), so the scheduler stops placing jobs here without waiting for the next beat.
   */
  async announceDraining(): Promise<void> {
    this.draining = true;
    if (!this.heartbeats) return;
    try {
      await this.sendHeartbeat(this.heartbeats, 2_000);
    } catch (err) {
      this.options.log.warn({ scheduler: this.scheduler.address, err: describe(err) }, 'could not tell the scheduler this worker is draining');
    }
  }

  /** Tells the scheduler this worker is leaving; a failure is logged, not thrown (the scheduler's heartbeat timeout covers it). */
  async deregister(timeoutMs: number): Promise<void> {
    const { workerId, log } = this.options;
    const { client, address: schedulerAddress } = this.scheduler;
    try {
      await unaryCall(new AbortController().signal, timeoutMs, (options, callback) => client.deregisterWorker({ workerId }, new Metadata(), options, callback));
      log.info({ scheduler: schedulerAddress }, 'worker deregistered');
    } catch (err) {
      log.warn({ scheduler: schedulerAddress, err: describe(err) }, 'could not deregister from the scheduler; it will mark this worker down when heartbeats stop');
    }
  }

  private async run(): Promise<void> {
    while (!this.abort.signal.aborted) {
      const intervalMs = await this.registerUntilAnswered();
      if (intervalMs === undefined) return;
      const heartbeats = (this.heartbeats = new HeartbeatStream(this.scheduler.client));
      const close = (): void => heartbeats.close();
      this.abort.signal.addEventListener('abort', close, { once: true });
      try {
        await this.heartbeatUntilForgotten(heartbeats, intervalMs);
      } finally {
        this.abort.signal.removeEventListener('abort', close);
        heartbeats.close();
        this.heartbeats = undefined;
      }
    }
  }

  /** Resolves with the heartbeat interval, or undefined when stopped first. */
  private async registerUntilAnswered(): Promise<number | undefined> {
    const { workerId, address, labels, capacity, version, knownJobs, log } = this.options;
    for (let attempt = 0; !this.abort.signal.aborted; attempt++) {
      const { client, address: schedulerAddress } = this.scheduler;
      try {
        const response = await unaryCall<RegisterWorkerResponse>(this.abort.signal, REGISTER_DEADLINE_MS, (options, callback) =>
          client.registerWorker({ workerId, address, labels, capacity, jobs: knownJobs(), version }, new Metadata(), options, callback),
        );
        const intervalMs = response.heartbeatIntervalMs > 0 ? response.heartbeatIntervalMs : DEFAULT_HEARTBEAT_INTERVAL_MS;
        log.info({ scheduler: schedulerAddress, address, heartbeat_interval_ms: intervalMs }, 'worker registered');
        return intervalMs;
      } catch (err) {
        if (this.abort.signal.aborted) return undefined;
        const delayMs = backoffDelayMs(attempt, Math.random());
        log.warn(
          { scheduler: schedulerAddress, err: describe(err), retry_in_ms: delayMs, attempt: attempt + 1 },
          'cannot register with the scheduler; retrying (is it running at this address?)',
        );
        this.failOver();
        if (!(await this.pause(delayMs))) return undefined;
      }
    }
    return undefined;
  }

  /**
   * Returns when the scheduler no longer knows this worker, or when stopped. After a failed
   * heartbeat the next one goes on the registration backoff (capped below the interval), so a
   * restarted scheduler hears from this worker, and answers NOT_FOUND, within about a second.
   */
  private async heartbeatUntilForgotten(heartbeats: HeartbeatStream, intervalMs: number): Promise<void> {
    const { log } = this.options;
    const schedulerAddress = this.scheduler.address;
    let failures = 0;
    while (await this.pause(failures === 0 ? intervalMs : Math.min(intervalMs, backoffDelayMs(failures - 1, Math.random())))) {
      try {
        // Once one has failed, the next waits for the channel to reconnect rather than failing at once.
        await this.sendHeartbeat(heartbeats, Math.max(intervalMs, 1_000), failures > 0);
        failures = 0;
        this.options.onHeartbeat?.(true);
      } catch (err) {
        failures++;
        if (!this.abort.signal.aborted) this.options.onHeartbeat?.(false);
        if (this.abort.signal.aborted) return;
        if (isServiceError(err) && err.code === GrpcStatus.NOT_FOUND) {
          log.warn({ scheduler: schedulerAddress }, 'the scheduler does not know this worker (it may have restarted); registering again');
          return;
        }
        if (this.options.schedulers.length > 1 && failures >= FAILOVER_AFTER_FAILURES) {
          log.warn({ scheduler: schedulerAddress, err: describe(err), failures }, 'heartbeats keep failing; registering with the next scheduler');
          this.failOver();
          return;
        }
        log.warn({ scheduler: schedulerAddress, err: describe(err) }, 'heartbeat failed; will keep trying');
      }
    }
  }

  private sendHeartbeat(heartbeats: HeartbeatStream, timeoutMs: number, waitForReady = false): Promise<void> {
    const { workerId, activeJobCount } = this.options;
    return heartbeats.beat({ workerId, running: activeJobCount(), draining: this.draining }, timeoutMs, waitForReady);
  }

  /** Sleeps `ms`; false when stopped meanwhile. */
  private async pause(ms: number): Promise<boolean> {
    try {
      await sleep(ms, undefined, { signal: this.abort.signal });
      return true;
    } catch {
      return false;
    }
  }
}

type UnaryCallback<Res> = (error: ServiceError | null, response: Res) => void;

/** A unary call as a promise, with a deadline, cancelled when `signal` aborts. */
function unaryCall<Res>(signal: AbortSignal, timeoutMs: number, invoke: (options: Partial<CallOptions>, callback: UnaryCallback<Res>) => ClientUnaryCall): Promise<Res> {
  return new Promise((resolve, reject) => {
    const call = invoke({ deadline: Date.now() + timeoutMs }, (error, response) => {
      signal.removeEventListener('abort', cancel);
      if (error) reject(error);
      else resolve(response);
    });
    const cancel = (): void => call.cancel();
    signal.addEventListener('abort', cancel, { once: true });
  });
}

/** A one-line reason for logs: gRPC details rather than a stack trace. */
function describe(err: unknown): string {
  if (isServiceError(err)) return `${GrpcStatus[err.code] ?? err.code}: ${err.details || err.message}`;
  return err instanceof Error ? err.message : String(err);
}
