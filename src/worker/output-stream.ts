import { promises as fs, watch, type FSWatcher } from 'node:fs';
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { StreamJobRequest, StreamJobResponse } from '../gen/baton/v1/worker.js';

/**
 * The most one read (and one message) carries. Large, so a fast output costs few reads,
 * messages and HTTP/2 frames per byte; a read returns what the file has, so a slow output's
 * bytes still go out as soon as they are read.
 */
export const CHUNK_BYTES = 256 * 1024;
/**
 * A follower at the end of the file wakes when the file changes (inotify) or the job's status
 * does; this is only the fallback for a change neither reports (a file system without inotify).
 */
const FOLLOW_FALLBACK_MS = 1_000;
/** How often a follower looks for a file not created yet (the job is still starting). */
const NOT_CREATED_POLL_MS = 50;

export type OutputCall = ServerWritableStream<StreamJobRequest, StreamJobResponse>;

export interface OutputSource {
  file: string;
  /** The bytes a reader may take: fewer while the job runs (see OutputFiles.readableLimit). */
  limit(finished: boolean): number;
  /** True once the job has ended and no process of it can write any more. */
  isFinished(): boolean;
  /** Resolves after `ms`, or sooner when the job's status changes. */
  waitForChange(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * The worker's StreamJob calls. It counts those open (the `baton_worker_output_streams` gauge),
 * which is how "the scheduler reads a followed job once, however many people read it" is seen
 * from outside.
 */
export class OutputStreams {
  open = 0;

  /** Runs one StreamJob call's work, counted while it runs. */
  async track(work: () => Promise<void>): Promise<void> {
    this.open++;
    try {
      await work();
    } finally {
      this.open--;
    }
  }
}

/**
 * What a StreamJob call sends, read afresh from the job's files each time: the output file
 * itself (WholeFile), or one stream picked out of it (./output-stream-split.ts).
 */
export interface ChunkReader {
  /** The files whose growth can make more readable: a follower at the end waits for one to change. */
  readonly files: readonly string[];
  /**
   * Up to CHUNK_BYTES from `position`, no further than `limit` bytes of the output file allow
   * (see OutputSource.limit); empty when nothing more is readable now, undefined while the
   * file does not exist yet.
   */
  read(position: number, limit: number): Promise<Buffer | undefined>;
  close(): Promise<void>;
}

const EMPTY = Buffer.alloc(0);

/** The output file (or any file that only grows, as the runs) as it is. */
export class WholeFile implements ChunkReader {
  readonly files: readonly string[];
  private handle: fs.FileHandle | undefined;

  constructor(private readonly file: string) {
    this.files = [file];
  }

  async read(position: number, limit: number): Promise<Buffer | undefined> {
    this.handle ??= await openIfExists(this.file);
    if (!this.handle) return undefined;
    if (position >= limit) return EMPTY;
    // A buffer of its own per message: grpc-js serialises it later, and the scheduler may hold it.
    const buffer = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, limit - position));
    const { bytesRead } = await this.handle.read(buffer, 0, buffer.length, position);
    return buffer.subarray(0, bytesRead);
  }

  async close(): Promise<void> {
    await this.handle?.close();
  }
}

/**
 * Streams what `reader` reads from `offset`. Never serves bytes past the limit (those of a
 * running job past the head of its cap may yet be rearranged). With `follow`, waits at the
 * end until one of the reader's files grows or the job ends, then sends whatever is left
 * and ends the call.
 */
export async function streamOutput(call: OutputCall, source: OutputSource, offset: number, follow: boolean, reader: ChunkReader = new WholeFile(source.file)): Promise<void> {
  let growth: FileGrowth | undefined;
  let position = offset;
  // A follower waiting at the end of a quiet file stops waiting when its reader leaves.
  const left = new Promise<void>((resolve) => {
    call.once('cancelled', resolve);
    call.once('close', resolve);
  });
  try {
    while (!call.cancelled) {
      // Read the state before reading the file: if the job had ended and the read finds
      // nothing, the file is complete.
      const finishedBeforeRead = source.isFinished();
      const data = await reader.read(position, source.limit(finishedBeforeRead));
      if (data !== undefined && data.length > 0) {
        position += data.length;
        if (!call.write({ data })) await drained(call);
        continue;
      }
      if (!follow || finishedBeforeRead) break;
      // Watch from the first time the end is reached; a write after the read above and
      // before the watch began is found by the read after this wait's fallback, or sooner
      // by any later write.
      if (!growth && data !== undefined) {
        growth = new FileGrowth(reader.files);
        continue; // read once more: the file may have grown before the watch began
      }
      const waited = new AbortController();
      try {
        await Promise.race([source.waitForChange(growth ? FOLLOW_FALLBACK_MS : NOT_CREATED_POLL_MS, waited.signal), growth?.next(), left]);
      } finally {
        waited.abort();
      }
    }
  } finally {
    growth?.close();
    await reader.close();
  }
  if (!call.cancelled) call.end();
}

/** Tells when files were written to (inotify through fs.watch): a follower at their end wakes at once instead of polling. */
class FileGrowth {
  private watchers: FSWatcher[] = [];
  private changed = false;
  private wake: (() => void) | undefined;

  constructor(files: readonly string[]) {
    for (const file of files) {
      try {
        const watcher = watch(file, { persistent: false }, () => this.notify());
        watcher.on('error', () => this.close());
        this.watchers.push(watcher);
      } catch {
        // No watch possible here: the fallback wait still finds the bytes.
      }
    }
  }

  /** Resolves at the next change (at once if one came since the last call), or never without a watcher. */
  next(): Promise<void> {
    if (this.watchers.length === 0) return new Promise(() => undefined);
    if (this.changed) {
      this.changed = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.wake = () => {
        this.changed = false;
        resolve();
      };
    });
  }

  close(): void {
    for (const watcher of this.watchers) watcher.close();
    this.watchers = [];
    // A wait in progress falls back to the timed one.
  }

  private notify(): void {
    this.changed = true;
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

export async function openIfExists(file: string): Promise<fs.FileHandle | undefined> {
  try {
    return await fs.open(file, 'r');
  } catch (err) {
    // Not created yet (the job is still starting) or never (it failed to start).
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Waits until the client has taken what was written, or is gone. */
export function drained(call: OutputCall): Promise<void> {
  return new Promise((resolve) => {
    const events = ['drain', 'cancelled', 'close', 'error'] as const;
    const done = (): void => {
      for (const event of events) call.off(event, done);
      resolve();
    };
    for (const event of events) call.once(event, done);
  });
}
