import { Metadata, status as GrpcStatus, type CallOptions, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { fromWorkerCallError, isServiceError } from '../common/errors.js';
import { CHANNEL_OPTIONS, clientCredentials, type GrpcSecurity } from '../common/grpc.js';
import { OutputViewClient } from '../common/output-message.js';
import type { Logger } from '../common/logger.js';
import { schedulerMetrics } from './metrics.js';
import { chunksOf, MAX_START_MESSAGE_BYTES, MAX_STARTS_PER_MESSAGE, startRequestBound, tooLargeToStart } from './start-chunks.js';
import { callError, StartStream } from './start-stream.js';
import { latestPerAttempt } from './status-burst.js';
import type { JobStatus } from '../gen/baton/v1/common.js';
import {
  OutputStream,
  type WorkerServiceClient,
  type QueryJobResponse,
  type StartJobRequest,
  type StartJobResponse,
  type StopJobResponse,
  type StreamJobResponse,
  type WatchJobsResponse,
} from '../gen/baton/v1/worker.js';

const WATCH_BACKOFF_MIN_MS = 100;
const WATCH_BACKOFF_MAX_MS = 5_000;
/** How long one wait for an unreachable worker's connection lasts before the next begins. */
const REACHABLE_WAIT_MS = 60_000;
/**
 * HTTP/2's receive window of each stream from the worker (output streams are what fill it).
 * The default 64 KiB let a worker send one 64 KiB piece per round trip, about 40 MiB/s on a
 * loaded machine; a paused stream (its reader is slow) holds at most this much here.
 */
export const STREAM_WINDOW_BYTES = 4 * 1024 * 1024;
/** The words of grpc-js for a call that failed before any connection to the worker was made. */
const NEVER_CONNECTED = /No connection established|ECONNREFUSED/;

/** A call that never reached the worker: nothing was sent, and the worker cannot be dialled at its address. */
export function neverConnected(err: unknown): err is ServiceError {
  return isServiceError(err) && err.code === GrpcStatus.UNAVAILABLE && NEVER_CONNECTED.test(err.details);
}

type Callback<Res> = (err: ServiceError | null, res: Res) => void;

interface PendingStart {
  request: StartJobRequest;
  timeoutMs: number;
  resolve: (res: StartJobResponse) => void;
  reject: (err: ServiceError) => void;
}

/**
 * The scheduler's one long-lived channel to one worker. Every unary call carries a
 * deadline and fails fast when the worker is unreachable (grpc-js' waitForReady is off by
 * default), so a hung worker costs its own callers a bounded wait and nobody else anything.
 *
 * It also keeps a WatchJobs stream open, re-opening it with capped backoff until closed.
 * Statuses from the stream are handed over in bursts: everything that arrived while the
 * previous burst was being applied, reduced to the latest status of each attempt, all at
 * once (distinct attempts, so their order does not matter; one attempt's statuses stay in order).
 */
export class WorkerChannel {
  private readonly client: WorkerServiceClient;
  private watchCall: ClientReadableStream<WatchJobsResponse> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private backoffMs = WATCH_BACKOFF_MIN_MS;
  /** Statuses received and not yet handed over; `draining` while a burst is being applied. */
  private received: JobStatus[] = [];
  private draining = false;
  /** Starts asked for and not yet sent; they go on the Starts stream, or as StartJob calls to a worker without it. */
  private starts: PendingStart[] = [];
  private startsBy: 'stream' | 'call' = 'stream';
  private readonly startStream: StartStream;
  private closed = false;
  /**
   * Why the scheduler cannot dial the worker (a call failed before any connection to it was
   * ever made), or undefined. Placement skips the worker meanwhile, rather than sending it
   * job after job that bounces back to the queue; it is cleared once a connection is made.
   */
  unreachable: string | undefined;
  /** Set once a connection worked: later failures mean the worker went away (its heartbeats tell), not that its address is wrong. */
  private reached = false;

  constructor(
    readonly workerId: string,
    readonly address: string,
    private readonly onStatus: (status: JobStatus, ranFirst: boolean) => Promise<void>,
    private readonly log: Logger,
    security: GrpcSecurity,
    /** Told when `unreachable` changes. */
    private readonly onReachability: () => void = () => undefined,
  ) {
    // Under TLS the worker must present its own certificate: statuses on this channel's
    // WatchJobs stream are then known to come from worker `workerId`.
    this.client = new OutputViewClient(address, clientCredentials(address, security, { role: 'worker', name: workerId }), {
      ...CHANNEL_OPTIONS,
      'grpc-node.flow_control_window': STREAM_WINDOW_BYTES,
    });
    this.startStream = new StartStream(this.client);
    this.untilReachable();
  }

  /** Names the worker in error messages. */
  get who(): string {
    return `worker ${this.workerId} at ${this.address}`;
  }

  /**
   * Starts a job. The starts asked for in one go (a dispatch pass, a commit's worth of new
   * jobs) leave together, as one message on the worker's Starts stream; each still gets its
   * own answer, or error, as from a StartJob call.
   */
  startJob(request: StartJobRequest, timeoutMs: number): Promise<StartJobResponse> {
    return new Promise((resolve, reject) => {
      this.starts.push({ request, timeoutMs, resolve, reject });
      if (this.starts.length === 1) process.nextTick(() => this.sendStarts());
    });
  }

  private sendStarts(): void {
    const starts: PendingStart[] = [];
    for (const s of this.starts) {
      // Sent, it would fail as RESOURCE_EXHAUSTED, which reads as "no room": queued again and again.
      const tooLarge = tooLargeToStart(s.request);
      if (tooLarge) s.reject(callError(GrpcStatus.INVALID_ARGUMENT, tooLarge));
      else starts.push(s);
    }
    this.starts = [];
    if (this.startsBy === 'call') {
      for (const s of starts) this.unary<StartJobResponse>('StartJob', (md, opts, cb) => this.client.startJob(s.request, md, opts, cb), s.timeoutMs).then(s.resolve, s.reject);
      return;
    }
    for (const chunk of chunksOf(starts, (s) => startRequestBound(s.request), MAX_START_MESSAGE_BYTES, MAX_STARTS_PER_MESSAGE)) this.sendOnStream(chunk);
  }

  /** One Starts message: each start resolves or fails with its own result. */
  private sendOnStream(starts: PendingStart[]): void {
    const end = schedulerMetrics.grpcCall('made', 'Starts');
    this.startStream
      .send(
        starts.map((s) => s.request),
        Math.min(...starts.map((s) => s.timeoutMs)),
      )
      .then(
        (results) => {
          end('OK');
          starts.forEach((s, i) => {
            const result = results[i];
            if (result?.jobId !== s.request.jobId) s.reject(callError(GrpcStatus.INTERNAL, `${this.who} answered starts out of order`));
            else if (result.code === GrpcStatus.OK) s.resolve({ jobId: result.jobId });
            else s.reject(callError(result.code, result.message, result.errorCode));
          });
        },
        (err: ServiceError) => {
          end(GrpcStatus[err.code] ?? 'UNKNOWN');
          this.failed(err);
          if (err.code !== GrpcStatus.UNIMPLEMENTED) {
            for (const s of starts) s.reject(err);
            return;
          }
          // A worker of an earlier version: one StartJob call per job, from now on.
          this.startsBy = 'call';
          this.starts = [...starts, ...this.starts];
          this.sendStarts();
        },
      );
  }

  stopJob(jobId: string, graceMs: number, timeoutMs: number): Promise<StopJobResponse> {
    return this.unary<StopJobResponse>('StopJob', (md, opts, cb) => this.client.stopJob({ jobId, graceMs }, md, opts, cb), timeoutMs);
  }

  queryJob(jobId: string, timeoutMs: number): Promise<QueryJobResponse> {
    return this.unary<QueryJobResponse>('QueryJob', (md, opts, cb) => this.client.queryJob({ jobId }, md, opts, cb), timeoutMs);
  }

  /** No deadline: a followed stream lasts as long as the job. The caller cancels it. */
  streamJob(jobId: string, follow: boolean, offset = 0, stream = OutputStream.OUTPUT_STREAM_UNSPECIFIED): ClientReadableStream<StreamJobResponse> {
    return this.client.streamJob({ jobId, offset, follow, stream });
  }

  /** Up to `length` bytes of a run's output (of one stream of it, or its runs) from `offset`; a refusal is mapped (fromWorkerCallError). */
  async readRange(run: string, offset: number, length: number, stream = OutputStream.OUTPUT_STREAM_UNSPECIFIED): Promise<Buffer> {
    const call = this.streamJob(run, false, offset, stream);
    const parts: Buffer[] = [];
    let got = 0;
    try {
      for await (const msg of call as AsyncIterable<StreamJobResponse>) {
        parts.push(Buffer.from(msg.data));
        got += msg.data.byteLength;
        if (got >= length) break;
      }
    } catch (err) {
      throw fromWorkerCallError(err, this.who);
    } finally {
      call.cancel();
    }
    return Buffer.concat(parts).subarray(0, length);
  }

  /** (Re)opens the WatchJobs stream from the start: the worker replays every job it knows, which is harmless to apply twice. */
  watch(): void {
    if (this.closed) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.watchCall?.cancel();
    const call = this.client.watchJobs({ afterSeq: 0 });
    this.watchCall = call;
    call.on('data', (msg: WatchJobsResponse) => {
      this.backoffMs = WATCH_BACKOFF_MIN_MS;
      const status = msg.status;
      if (!status) return;
      this.received.push(status);
      // From the next turn of the event loop: the statuses that arrive together form one burst.
      if (!this.draining) {
        this.draining = true;
        setImmediate(() => void this.drain());
      }
    });
    call.on('error', (err: ServiceError) => this.watchEnded(call, err));
    call.on('end', () => this.watchEnded(call, undefined));
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.watchCall?.cancel();
    this.watchCall = undefined;
    this.startStream.close();
    this.client.close();
  }

  private async drain(): Promise<void> {
    while (this.received.length > 0) {
      const burst = latestPerAttempt(this.received);
      this.received = [];
      await Promise.all(burst.map(({ status, ranFirst }) => this.onStatus(status, ranFirst)));
    }
    this.draining = false;
  }

  private watchEnded(call: ClientReadableStream<WatchJobsResponse>, err: ServiceError | undefined): void {
    if (call !== this.watchCall || this.closed) return; // replaced or cancelled on purpose
    this.watchCall = undefined;
    if (err) this.failed(err);
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, WATCH_BACKOFF_MAX_MS);
    const level = err && err.code !== GrpcStatus.UNAVAILABLE ? 'warn' : 'debug';
    this.log[level]({ worker_id: this.workerId, address: this.address, retry_in_ms: delay, error: err?.details }, 'job watch stream ended; reopening');
    this.retryTimer = setTimeout(() => this.watch(), delay);
    this.retryTimer.unref();
  }

  private unary<Res>(method: string, start: (md: Metadata, opts: Partial<CallOptions>, cb: Callback<Res>) => void, timeoutMs: number): Promise<Res> {
    const end = schedulerMetrics.grpcCall('made', method);
    return new Promise((resolve, reject) => {
      start(new Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
        end(err ? (GrpcStatus[err.code] ?? 'UNKNOWN') : 'OK');
        if (err) {
          this.failed(err);
          reject(err);
        } else resolve(res);
      });
    });
  }

  /** A call failed: one that could not even connect, to a worker never reached, marks it unreachable until a connection is made. */
  private failed(err: ServiceError): void {
    if (this.closed || this.reached || this.unreachable !== undefined || !neverConnected(err)) return;
    this.unreachable = `the scheduler cannot connect to ${this.address} (${err.details.replace(/\s*Resolution note:.*$/s, '')})`;
    this.onReachability();
  }

  /** Connects (retrying) until the first connection is made. */
  private untilReachable(): void {
    this.client.waitForReady(Date.now() + REACHABLE_WAIT_MS, (err) => {
      if (this.closed) return;
      if (err) {
        this.untilReachable();
        return;
      }
      this.reached = true;
      if (this.unreachable === undefined) return;
      this.unreachable = undefined;
      this.onReachability();
      // A watch waiting out its backoff reopens now: the worker's statuses may be waiting.
      if (this.retryTimer) this.watch();
    });
  }
}
