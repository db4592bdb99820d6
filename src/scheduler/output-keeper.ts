import { Readable } from 'node:stream';
import { asBuffer } from '../common/bytes.js';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { BatonError, isServiceError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { OutputStream, type StreamJobResponse } from '../gen/baton/v1/worker.js';
import { StreamRuns } from '../common/output-runs.js';
import { isFinalState } from '../worker/exit-status.js';
import type { JobStateName } from './job-state.js';
import { runId } from './job-status.js';
import type { OutputHubs } from './output-hub.js';
import type { OutputRecord, OutputStore } from './store/output-store.js';
import type { WorkerChannel } from './worker-channel.js';

/**
 * Bytes per stored piece, each written in a transaction of its own: on SQLite that write is
 * synchronous on the scheduler's event loop, so a piece is small enough to write in a few
 * milliseconds, yet large enough that a 1 GiB output is a few thousand rows.
 */
export const PIECE_BYTES = 256 * 1024;
/** Copies running at once: each holds at most one piece in memory and one worker stream; more would only queue their writes behind each other's. */
const MAX_COPIES = 2;
/** How long a worker has to say whether an attempt's output was cut, before a catch-up copy. */
const QUERY_TIMEOUT_MS = 10_000;
/**
 * The longest a copy waits for the attempt's live readers to be done: a reader reading a large
 * output slowly must not leave it uncopied for long, as the worker may go in the meantime.
 */
const MAX_QUIET_WAIT_MS = 5_000;
/** Bytes a reader of a kept output is sent per store read. */
const READ_BYTES = 1024 * 1024;

/**
 * True when `runs` account for exactly the output's `bytes`, or stopped at their bound before
 * them (kept so that a stream is refused saying why). Not so when a process of the job
 * that left its group still held the output open as the job ended (the copy had not finished),
 * or when a worker of an earlier release answered with something else: the output is then kept
 * whole only, as one not split.
 */
function runsCover(runs: Uint8Array, bytes: number): boolean {
  const decoded = new StreamRuns('stdout');
  try {
    decoded.push(runs);
  } catch {
    return false;
  }
  return decoded.stopped ? decoded.covered <= bytes : decoded.covered === bytes;
}

/** What an attempt's end report says of its output. */
interface AttemptEnd {
  state: JobStateName;
  outputTruncated?: boolean;
  outputBytes?: number;
  outputData?: Uint8Array;
  outputRuns?: Uint8Array;
}

const EMPTY = new Uint8Array(0);

/** An attempt whose output is to be kept. */
interface Ended {
  jobId: string;
  attempt: number;
  workerId: string;
  /** Asked of the worker when not known (an attempt found by the catch-up sweep). */
  truncated: boolean | undefined;
}

const key = (jobId: string, attempt: number): string => `${jobId}.${attempt}`;
/** Attempts remembered as gone from their worker (never to be kept), at most: the sweep does not ask again. */
const MAX_GONE = 10_000;

/**
 * Keeps each ended attempt's output in the store (see output-store.ts and the "Job output"
 * section of docs/architecture.md): told by the status applier when an attempt ends, it
 * copies the worker's file in pieces, a couple of attempts at a time, and serves kept
 * outputs to readers, so they outlive the worker and any scheduler on the store can answer.
 * The copy starts once the attempt's live readers are done with its hubs
 * (or MAX_QUIET_WAIT_MS after the end, whichever is first): it does not compete with them for
 * the worker, the event loop and the store.
 */
export class OutputKeeper {
  private readonly waiting: Ended[] = [];
  /** Attempts waiting or being copied. */
  private readonly busy = new Set<string>();
  /** Attempts whose worker no longer has them. */
  private readonly gone = new Set<string>();
  private running = 0;
  private closed = false;

  constructor(
    readonly store: OutputStore,
    /** The channel to a worker, undefined when it is not connected here. */
    private readonly channelOf: (workerId: string) => WorkerChannel | undefined,
    private readonly hubs: OutputHubs,
    private readonly log: Logger,
  ) {}

  /**
   * The attempt ended on `workerId`: its output is copied soon. One its worker reported empty
   * (`outputBytes` 0) or sent whole in the end report (`outputData`) is kept at once, with no
   * call to the worker.
   */
  attemptEnded(jobId: string, attempt: number, workerId: string, end: AttemptEnd): void {
    if (workerId === '' || this.closed) return;
    const data = end.outputData ?? (end.outputBytes === 0 ? EMPTY : undefined);
    if (data !== undefined) {
      const runs = end.outputRuns !== undefined && runsCover(end.outputRuns, data.byteLength) ? end.outputRuns : undefined;
      const output = { data, truncated: end.outputTruncated === true, ...(runs && { runs }) };
      this.store.keepEndedOutput(jobId, attempt, { workerId, state: end.state }, output, Date.now()).catch((err: unknown) => {
        this.log.warn(
          { job_id: jobId, attempt, worker_id: workerId, output_bytes: data.byteLength, error: err instanceof Error ? err.message : String(err) },
          'could not keep the job output sent with its end; it is read from its worker while that answers',
        );
      });
      return;
    }
    this.enqueue({ jobId, attempt, workerId, truncated: end.outputTruncated === true });
  }

  /** An ended attempt the catch-up sweep found without a kept output: what its worker has is asked first. */
  catchUp(jobId: string, attempt: number, workerId: string): void {
    if (workerId === '' || this.closed) return;
    this.enqueue({ jobId, attempt, workerId, truncated: undefined });
  }

  private enqueue(ended: Ended): void {
    const k = key(ended.jobId, ended.attempt);
    if (this.busy.has(k) || this.gone.has(k)) return;
    this.busy.add(k);
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, MAX_QUIET_WAIT_MS);
    });
    void Promise.race([this.hubs.quiet(runId(ended.jobId, ended.attempt)), waited]).then(() => {
      clearTimeout(timer);
      if (this.closed) return;
      this.waiting.push(ended);
      this.next();
    });
  }

  /** Whether the keeper has a copy of the attempt's output queued or running, or knows there is none to make. */
  handled(jobId: string, attempt: number): boolean {
    const k = key(jobId, attempt);
    return this.busy.has(k) || this.gone.has(k);
  }

  /** Copies waiting to start. */
  get queued(): number {
    return this.waiting.length;
  }

  /** The kept record of an attempt's output; undefined when none was begun. */
  kept(jobId: string, attempt: number): Promise<OutputRecord | undefined> {
    return this.store.getOutput(jobId, attempt);
  }

  /**
   * A kept output's bytes from `offset`, read from the store a piece at a time as the reader
   * takes them; through `readBytes` when given (one stream of it: ./output-streams.ts).
   */
  read(jobId: string, attempt: number, offset: number, end: number, readBytes?: (offset: number, maxBytes: number) => Promise<Buffer>): Readable {
    const store = this.store;
    const readPiece = readBytes ?? ((at: number, maxBytes: number) => store.readOutput(jobId, attempt, at, maxBytes));
    const log = this.log;
    let at = offset;
    return new Readable({
      highWaterMark: READ_BYTES,
      read() {
        if (at >= end) {
          this.push(null);
          return;
        }
        readPiece(at, Math.min(READ_BYTES, end - at)).then(
          (bytes) => {
            if (bytes.length === 0) {
              // The store holds fewer bytes than its record says (pruned meanwhile, or pieces lost):
              // ending here would pass a cut answer for a whole one, so the transfer is broken off.
              log.warn({ job_id: jobId, attempt, offset: at, end }, 'kept job output ended short of its size; the answer is broken off');
              this.destroy(new Error(`the kept output of job ${jobId} attempt ${attempt} ends at byte ${at}, short of ${end}`));
              return;
            }
            at += bytes.length;
            this.push(bytes);
          },
          (err: unknown) => this.destroy(err instanceof Error ? err : new Error(String(err))),
        );
      },
    });
  }

  close(): void {
    this.closed = true;
    this.waiting.length = 0;
    this.busy.clear();
  }

  private next(): void {
    while (this.running < MAX_COPIES && this.waiting.length > 0) {
      const ended = this.waiting.shift()!;
      this.running++;
      this.copy(ended)
        .catch((err: unknown) => {
          const ids = { job_id: ended.jobId, attempt: ended.attempt, worker_id: ended.workerId };
          // A worker that no longer knows the attempt (its data folder was cleared) has no output to keep.
          if ((isServiceError(err) && err.code === GrpcStatus.NOT_FOUND) || (err instanceof BatonError && err.code === 'JOB_NOT_FOUND')) {
            if (this.gone.size >= MAX_GONE) this.gone.clear();
            this.gone.add(key(ended.jobId, ended.attempt));
            this.log.info(ids, 'no job output to keep: its worker no longer has the attempt');
            return;
          }
          // A worker that left or a scheduler that is stopping is part of a normal shutdown: the
          // output stays on the worker, read from there while it answers.
          if (this.closed || this.channelOf(ended.workerId) === undefined) {
            this.log.info({ ...ids, error: err instanceof Error ? err.message : String(err) }, 'job output not kept: its worker left');
            return;
          }
          this.log.warn({ ...ids, error: err instanceof Error ? err.message : String(err) }, 'could not keep the job output; it is read from its worker while that answers');
        })
        .finally(() => {
          this.busy.delete(key(ended.jobId, ended.attempt));
          this.running--;
          this.next();
        });
    }
  }

  private async copy({ jobId, attempt, workerId, truncated: known }: Ended): Promise<void> {
    const channel = this.channelOf(workerId);
    if (!channel) throw new Error(`worker ${workerId} is not connected`);
    let truncated = known;
    if (truncated === undefined) {
      // Found by the catch-up sweep: an attempt the scheduler ended (lost) may still run there.
      const status = (await channel.queryJob(runId(jobId, attempt), QUERY_TIMEOUT_MS)).status;
      if (status && !isFinalState(status.state)) {
        this.log.info({ job_id: jobId, attempt, worker_id: workerId }, 'job output not kept yet: its process still runs on the worker; a later sweep keeps it');
        return;
      }
      truncated = status?.outputTruncated === true;
    }
    if (!(await this.store.beginOutput(jobId, attempt, Date.now()))) return;
    // A stream of its own, not the hub's: the copy reads from byte 0, behind any hub's window, and
    // its own stream holds only the HTTP/2 window where a catch-up through the hub holds its 8 MiB.
    const call = channel.streamJob(runId(jobId, attempt), false);
    let stored = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async (): Promise<void> => {
      if (pendingBytes === 0) return;
      const piece = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      await this.store.appendOutput(jobId, attempt, stored, piece);
      stored += piece.length;
      // Let dispatch, heartbeats and readers run before the next piece: the worker's stream
      // may have many messages buffered, and reading those alone never yields the loop.
      await new Promise<void>((resolve) => setImmediate(resolve));
    };
    try {
      for await (const msg of call as AsyncIterable<StreamJobResponse>) {
        if (this.closed) throw new Error('the scheduler is shutting down');
        pending.push(asBuffer(msg.data));
        pendingBytes += msg.data.byteLength;
        if (pendingBytes >= PIECE_BYTES) await flush();
      }
    } finally {
      call.cancel();
    }
    await flush();
    const runs = await this.copyRuns(channel, jobId, attempt);
    if (runs && runsCover(runs, stored)) await this.store.keepOutputRuns(jobId, attempt, runs);
    await this.store.completeOutput(jobId, attempt, stored, truncated, Date.now());
    this.log.info({ job_id: jobId, attempt, worker_id: workerId, output_bytes: stored, runs_bytes: runs?.length ?? 0 }, 'job output kept');
  }

  /** Which stream each byte came from (small: a few bytes per switch between them); undefined for an output not kept apart. */
  private async copyRuns(channel: WorkerChannel, jobId: string, attempt: number): Promise<Buffer | undefined> {
    try {
      return await channel.readRange(runId(jobId, attempt), 0, Number.POSITIVE_INFINITY, OutputStream.OUTPUT_STREAM_RUNS);
    } catch (err) {
      // The worker's refusal (FAILED_PRECONDITION): OUTPUT_NOT_SPLIT, or WRONG_STATE from a worker that sends no code.
      if (err instanceof BatonError && (err.code === 'OUTPUT_NOT_SPLIT' || err.code === 'WRONG_STATE')) return undefined;
      throw err;
    }
  }
}
