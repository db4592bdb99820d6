import { Readable } from 'node:stream';
import { status as GrpcStatus, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { fromWorkerCallError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { OutputStream, StreamJobResponse } from '../gen/baton/v1/worker.js';
import type { WorkerChannel } from './worker-channel.js';
import { asBuffer } from '../common/bytes.js';

/**
 * The latest bytes of a followed attempt a hub keeps for its readers. A reader further behind
 * than this reads on its own from its worker until it is back inside (see OutputHub).
 */
export const HUB_WINDOW_BYTES = 8 * 1024 * 1024;
/** How long a stream may stay silent before its HTTP headers are committed (after that, a worker error can only cut the body short). */
export const STREAM_COMMIT_MS = 250;
/**
 * A reader catching up on its own whose consumer took nothing for this long gives its worker
 * stream back (it opens another when it reads again); a hub whose readers took nothing for this
 * long no longer holds back the keeper's copy (see OutputHubs.quiet).
 */
const IDLE_MS = 1_000;

type OutputCall = ClientReadableStream<StreamJobResponse>;

/** A message's bytes as a Buffer, without copying them. */
function bytesOf(msg: StreamJobResponse): Buffer {
  return asBuffer(msg.data);
}

/**
 * Everyone following one attempt's output live, fed by ONE worker stream. The hub keeps the
 * latest HUB_WINDOW_BYTES it received (pieces shared by all readers, never copied) and reads
 * from the worker while a reader waits for more, so it goes at the pace of its fastest
 * reader; slower readers take their bytes from the window behind it. A reader that falls
 * behind the window (or starts before it) is not waited for: it opens a stream of its own
 * from its offset, and comes back to the hub once its offset is inside the window again.
 * Each reader gets every byte once, in order, and a stalled one holds nothing but its own
 * buffer (HUB_WINDOW_BYTES and the docs' "Job output" section state the bound).
 */
class OutputHub {
  private readonly readers = new Set<HubReader>();
  /** Readers that have everything the hub has and want more. */
  private readonly hungry = new Set<HubReader>();
  /** The window: consecutive pieces, the first starting at `base`, the last ending at `end`. */
  private pieces: { at: number; data: Buffer }[] = [];
  base: number;
  end: number;
  private ended = false;
  private failure: Error | undefined;
  private paused = false;
  private pausedAt = 0;
  private leaving = false;
  /** Told once the readers are done with the hub: it ended, failed, was left, or they took nothing for IDLE_MS. */
  private quietWaiters: (() => void)[] = [];
  private quietTimer: NodeJS.Timeout | undefined;
  private readonly call: OutputCall;
  /** Settles once the worker has sent something, ended, or stayed quiet STREAM_COMMIT_MS (resolves), or refused first (rejects). */
  readonly opened: Promise<void>;

  constructor(
    readonly channel: WorkerChannel,
    readonly run: string,
    /** The whole output, or one stream of it: a hub per attempt and stream. */
    readonly stream: OutputStream,
    start: number,
    /** Told once no new reader should join (the stream failed, or every reader left). */
    private readonly onDone: () => void,
    log: Logger,
  ) {
    this.base = start;
    this.end = start;
    this.call = channel.streamJob(run, true, start, stream);
    let commit: () => void = () => undefined;
    let refuse: (err: Error) => void = () => undefined;
    let committed = false;
    this.opened = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => commit(), STREAM_COMMIT_MS);
      commit = () => {
        committed = true;
        clearTimeout(timer);
        resolve();
      };
      refuse = (err) => {
        clearTimeout(timer);
        reject(err);
      };
    });
    this.opened.catch(() => undefined); // every reader awaits it; none may be left to
    this.call.on('data', (msg: StreamJobResponse) => {
      commit();
      this.received(bytesOf(msg));
    });
    this.call.on('end', () => {
      commit();
      this.ended = true;
      this.finish();
    });
    this.call.on('error', (err: ServiceError) => {
      if (this.leaving && err.code === GrpcStatus.CANCELLED) return;
      const mapped = fromWorkerCallError(err, channel.who);
      if (committed) log.warn({ run, worker_id: channel.workerId, error: err.details }, 'output stream broke off');
      else refuse(mapped);
      this.failure = mapped;
      this.finish();
    });
  }

  /** A new reader from `start` (any offset: before the window it catches up on its own, after it waits). */
  join(start: number): HubReader {
    const reader = new HubReader(this, start);
    this.readers.add(reader);
    return reader;
  }

  /** Gives `reader` what it may have now, or notes that it waits. Called when it wants bytes. */
  serve(reader: HubReader): void {
    for (;;) {
      if (reader.position < this.base) {
        reader.catchUp();
        return;
      }
      if (reader.position < this.end) {
        const piece = this.pieceAt(reader.position);
        const data = piece.data.subarray(reader.position - piece.at);
        reader.position += data.length;
        if (!reader.push(data)) return;
        continue;
      }
      if (this.failure) reader.destroy(this.failure);
      else if (this.ended) reader.push(null);
      else {
        this.hungry.add(reader);
        if (this.paused) {
          this.paused = false;
          clearTimeout(this.quietTimer);
          this.call.resume();
        }
      }
      return;
    }
  }

  leave(reader: HubReader): void {
    this.readers.delete(reader);
    this.hungry.delete(reader);
    if (this.readers.size > 0) return;
    if (!this.ended && !this.failure) {
      this.leaving = true;
      this.call.cancel();
    }
    this.onDone();
    this.tellQuiet();
  }

  /** Resolves once the readers are done with the hub: it ended, failed or was left, or they took nothing for IDLE_MS. */
  quiet(): Promise<void> {
    return new Promise((resolve) => {
      this.quietWaiters.push(resolve);
      if (this.ended || this.failure || this.leaving) this.tellQuiet();
      else if (this.paused) this.armQuiet(this.pausedAt + IDLE_MS - Date.now());
    });
  }

  private armQuiet(ms: number): void {
    clearTimeout(this.quietTimer);
    this.quietTimer = setTimeout(() => this.paused && this.tellQuiet(), Math.max(0, ms));
  }

  private tellQuiet(): void {
    clearTimeout(this.quietTimer);
    const waiters = this.quietWaiters;
    this.quietWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private received(data: Buffer): void {
    this.pieces.push({ at: this.end, data });
    this.end += data.length;
    const keepFrom = this.end - HUB_WINDOW_BYTES;
    let drop = 0;
    while (drop < this.pieces.length - 1 && this.pieces[drop]!.at + this.pieces[drop]!.data.length <= keepFrom) drop++;
    if (drop > 0) this.pieces = this.pieces.slice(drop);
    this.base = this.pieces[0]!.at;
    this.feedHungry();
    // Nobody wants more now: leave the rest in the worker's stream (HTTP/2 flow control holds it there).
    if (this.hungry.size === 0 && !this.paused) {
      this.paused = true;
      this.pausedAt = Date.now();
      if (this.quietWaiters.length > 0) this.armQuiet(IDLE_MS);
      this.call.pause();
    }
  }

  private finish(): void {
    // An ended hub still serves its window to readers that join while it has some; a failed one serves nobody new.
    if (this.failure) this.onDone();
    this.tellQuiet();
    this.feedHungry();
  }

  private feedHungry(): void {
    const waiting = [...this.hungry];
    this.hungry.clear();
    for (const reader of waiting) this.serve(reader);
  }

  /** The piece holding byte `position` (base <= position < end). */
  private pieceAt(position: number): { at: number; data: Buffer } {
    let lo = 0;
    let hi = this.pieces.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.pieces[mid]!.at <= position) lo = mid;
      else hi = mid - 1;
    }
    return this.pieces[lo]!;
  }
}

/** One HTTP reader of a hub: its offset, and while it is behind the window, its own worker stream. */
class HubReader extends Readable {
  /** The next byte this reader is to get. */
  position: number;
  private own: OutputCall | undefined;
  private idle: NodeJS.Timeout | undefined;

  constructor(
    private readonly hub: OutputHub,
    start: number,
  ) {
    super();
    this.position = start;
  }

  override _read(): void {
    if (this.own) {
      clearTimeout(this.idle);
      this.own.resume();
      return;
    }
    this.hub.serve(this);
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.stopOwn();
    this.hub.leave(this);
    callback(err);
  }

  /** Behind the hub's window: read from the worker on its own until back inside it. */
  catchUp(): void {
    const hub = this.hub;
    const call = hub.channel.streamJob(hub.run, false, this.position, hub.stream);
    this.own = call;
    call.on('data', (msg: StreamJobResponse) => {
      if (this.own !== call) return; // given back: what it still delivers is read again later
      const data = bytesOf(msg);
      this.position += data.length;
      const more = this.push(data);
      if (this.position >= hub.base) {
        this.stopOwn();
        if (more) hub.serve(this);
        return;
      }
      if (!more) {
        call.pause();
        this.idle = setTimeout(() => this.stopOwn(), IDLE_MS);
      }
    });
    call.on('end', () => {
      if (this.own !== call) return;
      this.own = undefined;
      hub.serve(this);
    });
    call.on('error', (err: ServiceError) => {
      if (this.own !== call) return; // cancelled here
      this.own = undefined;
      this.destroy(fromWorkerCallError(err, hub.channel.who));
    });
  }

  private stopOwn(): void {
    clearTimeout(this.idle);
    const call = this.own;
    this.own = undefined;
    call?.cancel();
  }
}

/** The hubs of the attempts followed through this scheduler, one per attempt. */
export class OutputHubs {
  private readonly hubs = new Map<string, OutputHub>();

  constructor(private readonly log: Logger) {}

  /** A reader following `run`'s output (or one stream of it) live from `start`, once its worker has answered (a refusal rejects). */
  async follow(channel: WorkerChannel, run: string, start: number, stream: OutputStream): Promise<Readable> {
    const key = `${run}/${stream}`;
    let hub = this.hubs.get(key);
    if (hub?.channel !== channel) {
      const created = new OutputHub(channel, run, stream, start, () => this.hubs.get(key) === created && this.hubs.delete(key), this.log);
      this.hubs.set(key, created);
      hub = created;
    }
    const reader = hub.join(start);
    try {
      await hub.opened;
    } catch (err) {
      reader.destroy();
      throw err;
    }
    return reader;
  }

  /**
   * Resolves once every hub of `run` (its whole output, or a stream of it) is done with: it
   * ended, failed or was left, or its readers took nothing for IDLE_MS.
   */
  async quiet(run: string): Promise<void> {
    const prefix = `${run}/`;
    await Promise.all([...this.hubs].filter(([key]) => key.startsWith(prefix)).map(([, hub]) => hub.quiet()));
  }

  /** Attempts followed now (one worker stream each). */
  get size(): number {
    return this.hubs.size;
  }
}
