import { promises as fs } from 'node:fs';
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { StreamJobRequest, StreamJobResponse } from '../gen/baton/v1/worker.js';

const CHUNK_BYTES = 64 * 1024;
const FOLLOW_POLL_MS = 50;

export type OutputCall = ServerWritableStream<StreamJobRequest, StreamJobResponse>;

export interface OutputSource {
  file: string;
  /** The bytes a reader may take: fewer while the job runs (see OutputFiles.readableLimit). */
  limit(finished: boolean): number;
  /** True once the job has ended and no process of it can write any more. */
  isFinished(): boolean;
  /** Resolves after `ms`, or sooner when the job's status changes. */
  waitForChange(ms: number): Promise<void>;
}

/**
 * Streams a job's output file from `offset`: each reader reads the file itself, so any
 * number of readers get the same bytes. Never serves bytes past the limit (those of a
 * running job past the head of its cap may yet be rearranged). With `follow`, waits at the end of the file until the
 * job ends, then sends whatever is left and ends the call.
 */
export async function streamOutput(call: OutputCall, source: OutputSource, offset: number, follow: boolean): Promise<void> {
  let handle: fs.FileHandle | undefined;
  let position = offset;
  try {
    while (!call.cancelled) {
      // Read the state before reading the file: if the job had ended and the read finds
      // nothing, the file is complete.
      const finishedBeforeRead = source.isFinished();
      handle ??= await openIfExists(source.file);
      const limit = source.limit(finishedBeforeRead);
      if (handle && position < limit) {
        const buffer = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, limit - position));
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
        if (bytesRead > 0) {
          position += bytesRead;
          if (!call.write({ data: buffer.subarray(0, bytesRead) })) await drained(call);
          continue;
        }
      }
      if (!follow || finishedBeforeRead) break;
      await source.waitForChange(FOLLOW_POLL_MS);
    }
  } finally {
    await handle?.close();
  }
  if (!call.cancelled) call.end();
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
