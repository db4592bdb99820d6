import { existsSync, type promises as fs } from 'node:fs';
import { BatonError } from '../common/errors.js';
import { type OutputStreamName, runsStopped, StreamRuns } from '../common/output-runs.js';
import { type ChunkReader, CHUNK_BYTES, openIfExists, type OutputSource } from './output-stream.js';

/** The most of the runs one read takes (a few bytes per switch of stream). */
const RUNS_READ_BYTES = 64 * 1024;

/** The error for a stream, or the runs, of a job whose stdout and stderr went to the output file together. */
function notSplit(jobId: string): BatonError {
  return new BatonError(
    'OUTPUT_NOT_SPLIT',
    `job ${jobId} ran under a job supervisor of an earlier release, which wrote its stdout and stderr together: read its output without a stream`,
  );
}

/** Throws OUTPUT_NOT_SPLIT when the job has an output file but no runs (the runs are created first). */
export function requireRuns(jobId: string, source: OutputSource, runsFile: string): void {
  if (existsSync(source.file) && !existsSync(runsFile)) throw notSplit(jobId);
}

/**
 * One of a job's streams, stdout or stderr, counted in that stream's bytes: the bytes of the
 * interleaved output file that the runs beside it (written by the copy as it goes,
 * src/common/output-runs.ts) give to that stream. Never past the readable limit, nor past
 * what the runs account for yet, and not at all once they stopped at their bound. The copy appends the runs after the bytes they describe,
 * and the last ones when the job ends: a follower waits for either file to change.
 */
export class OneStream implements ChunkReader {
  readonly files: readonly string[];
  private readonly runs: StreamRuns;
  private readonly runsBuffer = Buffer.allocUnsafe(RUNS_READ_BYTES);
  private output: fs.FileHandle | undefined;
  private runsHandle: fs.FileHandle | undefined;
  private runsRead = 0;

  constructor(
    private readonly jobId: string,
    private readonly file: string,
    private readonly runsFile: string,
    stream: OutputStreamName,
  ) {
    this.files = [file, runsFile];
    this.runs = new StreamRuns(stream);
  }

  async read(position: number, limit: number): Promise<Buffer | undefined> {
    if (!this.output) {
      this.output = await openIfExists(this.file);
      // The runs are created before the output file: an output without them was never split.
      if (this.output) this.runsHandle = await openIfExists(this.runsFile);
      if (this.output && !this.runsHandle) throw notSplit(this.jobId);
    }
    if (!this.output || !this.runsHandle) return undefined;
    for (;;) {
      const { bytesRead } = await this.runsHandle.read(this.runsBuffer, 0, this.runsBuffer.length, this.runsRead);
      if (bytesRead === 0) break;
      this.runsRead += bytesRead;
      this.runs.push(this.runsBuffer.subarray(0, bytesRead));
    }
    // A reader past the stop would be given the rest without knowing which stream it came from: none is.
    if (this.runs.stopped) throw runsStopped(`job ${this.jobId}`);
    const available = this.runs.bytesBefore(limit);
    if (position >= available) return Buffer.alloc(0);
    const data = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, available - position));
    let got = 0;
    for (const piece of this.runs.pieces(position, position + data.length)) {
      const { bytesRead } = await this.output.read(data, got, piece.length, piece.offset);
      got += bytesRead;
      if (bytesRead < piece.length) break;
    }
    return data.subarray(0, got);
  }

  async close(): Promise<void> {
    await this.output?.close();
    await this.runsHandle?.close();
  }
}
