import { existsSync, type promises as fs } from 'node:fs';
import { BatonError } from '../common/errors.js';
import { type OutputStreamName, StreamRuns } from '../common/output-runs.js';
import { drained, openIfExists, type OutputCall, type OutputSource } from './output-stream.js';

const CHUNK_BYTES = 64 * 1024;
const FOLLOW_POLL_MS = 50;

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
 * Streams one of a job's streams, stdout or stderr, from `offset` (a count of that stream's
 * bytes): the bytes of the interleaved output file that the runs beside it (written by the
 * copy as it goes, src/common/output-runs.ts) give to that stream. Never past the readable
 * limit, nor past what the runs account for yet; with `follow`, until the job ends.
 */
export async function streamOneStream(
  call: OutputCall,
  jobId: string,
  source: OutputSource,
  runsFile: string,
  stream: OutputStreamName,
  offset: number,
  follow: boolean,
): Promise<void> {
  const runs = new StreamRuns(stream);
  const runsBuffer = Buffer.allocUnsafe(CHUNK_BYTES);
  let output: fs.FileHandle | undefined;
  let runsHandle: fs.FileHandle | undefined;
  let runsRead = 0;
  let position = offset;
  try {
    while (!call.cancelled) {
      const finishedBeforeRead = source.isFinished();
      if (!output) {
        output = await openIfExists(source.file);
        // The runs are created before the output file: an output without them was never split.
        if (output) runsHandle = await openIfExists(runsFile);
        if (output && !runsHandle) throw notSplit(jobId);
      }
      if (output && runsHandle) {
        for (;;) {
          const { bytesRead } = await runsHandle.read(runsBuffer, 0, runsBuffer.length, runsRead);
          if (bytesRead === 0) break;
          runsRead += bytesRead;
          runs.push(runsBuffer.subarray(0, bytesRead));
        }
        const available = runs.bytesBefore(source.limit(finishedBeforeRead));
        if (position < available) {
          const data = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, available - position));
          let got = 0;
          for (const piece of runs.pieces(position, position + data.length)) {
            const { bytesRead } = await output.read(data, got, piece.length, piece.offset);
            got += bytesRead;
            if (bytesRead < piece.length) break;
          }
          if (got > 0) {
            position += got;
            if (!call.write({ data: data.subarray(0, got) })) await drained(call);
            continue;
          }
        }
      }
      if (!follow || finishedBeforeRead) break;
      await source.waitForChange(FOLLOW_POLL_MS);
    }
  } finally {
    await output?.close();
    await runsHandle?.close();
  }
  if (!call.cancelled) call.end();
}
