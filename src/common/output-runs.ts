/**
 * Which stream each byte of a job's output file came from. The output file holds stdout and
 * stderr interleaved (in the order the copy found them, native/spawn.c); beside it, the
 * copy writes "runs": each a LEB128 varint of `length * 4 + kind`, in file order, kind 0 for
 * stdout, 1 for stderr, 2 for both (the marker line of a cut output belongs to each stream).
 * The runs are held to 1/16 of the cap: a job switching stream so often that they would pass
 * it has them end with length 0 and kind 3, and the rest of its output is not told apart.
 * Pure: the worker reads a live file's runs as they grow, the scheduler a kept output's.
 *
 * A stream's offsets count that stream's bytes only: byte 10 of stderr is the tenth byte the
 * job wrote to stderr (of those kept).
 */

import { BatonError } from './errors.js';

export type OutputStreamName = 'stdout' | 'stderr';

const KIND_OF: Record<OutputStreamName, number> = { stdout: 0, stderr: 1 };
const KIND_BOTH = 2;
const KIND_STOP = 3;

/** The refusal of a stream of `what` (a job, an attempt) whose runs stopped at their bound. */
export function runsStopped(what: string): BatonError {
  return new BatonError(
    'OUTPUT_NOT_SPLIT',
    `${what} switched between stdout and stderr so often that the record of which is which passed its bound (1/16 of the output cap): its streams were not kept apart, read its output without a stream`,
  );
}

/** A part of the output file: `length` bytes from `offset`. */
export interface FilePiece {
  offset: number;
  length: number;
}

/** One stream's pieces of an output file, decoded from its runs (fed whole or as they are written). */
export class StreamRuns {
  /** Bytes of the output file the runs decoded so far account for. */
  covered = 0;
  /** Bytes of the stream in them. */
  streamBytes = 0;
  /** True once the runs stopped short of their bound: which stream the bytes past `covered` came from is not known. */
  stopped = false;
  private readonly kind: number;
  /** The stream's pieces in order: where each starts in the file and in the stream. */
  private readonly fileStarts: number[] = [];
  private readonly streamStarts: number[] = [];
  private readonly lengths: number[] = [];
  /** A varint cut off at the end of what was fed, kept for the next feed. */
  private partial: Uint8Array = new Uint8Array(0);

  constructor(stream: OutputStreamName) {
    this.kind = KIND_OF[stream];
  }

  /** Decodes more of the runs; a varint cut off at the end waits for the rest. Throws on a run of an unknown kind. */
  push(bytes: Uint8Array): void {
    if (this.stopped) return;
    const input = this.partial.length === 0 ? bytes : Buffer.concat([this.partial, bytes]);
    let value = 0;
    let scale = 1;
    let done = 0;
    for (let i = 0; i < input.length; i++) {
      const b = input[i]!;
      value += (b & 0x7f) * scale;
      scale *= 128;
      // Past 2^53 a length is no longer exact: such runs are corrupt, not a long output.
      if (scale > 2 ** 56) throw new Error('output runs: a run length longer than 7 varint bytes');
      if (b & 0x80) continue;
      this.add(Math.floor(value / 4), value % 4);
      if (this.stopped) return;
      value = 0;
      scale = 1;
      done = i + 1;
    }
    this.partial = input.slice(done);
  }

  /** The bytes of the stream that lie before file offset `fileLimit` (a reader may not go past it). */
  bytesBefore(fileLimit: number): number {
    const i = this.pieceAt(fileLimit, this.fileStarts);
    if (i < 0) return 0;
    return this.streamStarts[i]! + Math.min(this.lengths[i]!, Math.max(0, fileLimit - this.fileStarts[i]!));
  }

  /** Where the stream's bytes `from` to `to` lie in the file, in order. */
  pieces(from: number, to: number): FilePiece[] {
    const out: FilePiece[] = [];
    for (let i = Math.max(0, this.pieceAt(from, this.streamStarts)); i < this.lengths.length && from < to; i++) {
      const skip = from - this.streamStarts[i]!;
      const length = Math.min(this.lengths[i]! - skip, to - from);
      if (length <= 0) continue;
      out.push({ offset: this.fileStarts[i]! + skip, length });
      from += length;
    }
    return out;
  }

  private add(length: number, kind: number): void {
    if (kind === KIND_STOP && length === 0) {
      this.stopped = true;
      return;
    }
    if (kind > KIND_BOTH) throw new Error(`output runs: unknown kind ${kind}`);
    if (length > 0 && (kind === this.kind || kind === KIND_BOTH)) {
      const last = this.lengths.length - 1;
      if (last >= 0 && this.fileStarts[last]! + this.lengths[last]! === this.covered) {
        this.lengths[last]! += length;
      } else {
        this.fileStarts.push(this.covered);
        this.streamStarts.push(this.streamBytes);
        this.lengths.push(length);
      }
      this.streamBytes += length;
    }
    this.covered += length;
  }

  /** The last piece starting at or before `at` in `starts` (ascending); -1 if none. */
  private pieceAt(at: number, starts: number[]): number {
    let lo = 0;
    let hi = starts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid]! <= at) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }
}
