import { BatonError } from '../common/errors.js';
import { type OutputStreamName, runsStopped, StreamRuns } from '../common/output-runs.js';
import { OutputStream } from '../gen/baton/v1/worker.js';
import type { OutputStore } from './store/output-store.js';

/** The worker's name for a stream of a job's output (interleaved when none is asked for). */
export function wireStream(stream: OutputStreamName | undefined): OutputStream {
  if (stream === undefined) return OutputStream.OUTPUT_STREAM_UNSPECIFIED;
  return stream === 'stdout' ? OutputStream.OUTPUT_STREAM_STDOUT : OutputStream.OUTPUT_STREAM_STDERR;
}

/** Where one stream of a kept output lies in its bytes; OUTPUT_NOT_SPLIT when its stdout and stderr were not kept apart. */
export async function keptStreamRuns(store: OutputStore, jobId: string, attempt: number, stream: OutputStreamName): Promise<StreamRuns> {
  const bytes = await store.readOutputRuns(jobId, attempt);
  const runs = new StreamRuns(stream);
  // An empty output is kept without a copy, so without runs: each of its streams is empty too.
  if (bytes === undefined && (await store.getOutput(jobId, attempt))?.bytes === 0) return runs;
  if (bytes === undefined) {
    throw new BatonError(
      'OUTPUT_NOT_SPLIT',
      `job ${jobId} attempt ${attempt} ran under a job supervisor of an earlier release, which wrote its stdout and stderr together: read its output without a stream`,
    );
  }
  runs.push(bytes);
  if (runs.stopped) throw runsStopped(`job ${jobId} attempt ${attempt}`);
  return runs;
}

/** Up to `maxBytes` of a kept output's stream from `offset` (a count of that stream's bytes). */
export async function readKeptStream(store: OutputStore, jobId: string, attempt: number, runs: StreamRuns, offset: number, maxBytes: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const piece of runs.pieces(offset, Math.min(runs.streamBytes, offset + maxBytes))) {
    const bytes = await store.readOutput(jobId, attempt, piece.offset, piece.length);
    parts.push(bytes);
    if (bytes.length < piece.length) break;
  }
  return Buffer.concat(parts);
}
