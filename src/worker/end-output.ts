import { readFile } from 'node:fs/promises';
import type { OutputFiles } from './output-files.js';

/**
 * The largest output (and, apart, runs record) a worker sends inside an attempt's end report,
 * so the scheduler keeps it with the end, in the same commit, instead of copying it with a
 * StreamJob call afterwards. Short jobs' outputs (a few hundred lines) fit. Not more: a
 * burst's end reports are written in shared commits, synchronous on SQLite's event loop, so
 * a few hundred ends in one commit carry at most a few MiB; and an end report (one
 * WatchJobs message each) stays at most twice this, far below gRPC's 4 MiB message limit.
 */
export const END_OUTPUT_MAX_BYTES = 16 * 1024;

/** The end report's fields carrying a small output. */
export interface EndOutput {
  outputData: Buffer;
  outputRuns?: Buffer;
}

/**
 * An ended job's output and runs, read whole to go in its end report; undefined when either is
 * over END_OUTPUT_MAX_BYTES or cannot be read (it is copied with StreamJob then; an empty one
 * never is: its end report says 0 bytes). Read off the event loop: a slow disk under a burst
 * of ends must not stall the worker's streams.
 */
export async function readEndOutput(output: OutputFiles, jobId: string, bytes: number): Promise<EndOutput | undefined> {
  if (bytes <= 0 || bytes > END_OUTPUT_MAX_BYTES) return undefined;
  try {
    const outputData = await readFile(output.pathFor(jobId));
    if (outputData.length > END_OUTPUT_MAX_BYTES) return undefined;
    const outputRuns = await readRuns(output.runsPathFor(jobId));
    if (outputRuns !== undefined && outputRuns.length > END_OUTPUT_MAX_BYTES) return undefined;
    return outputRuns === undefined ? { outputData } : { outputData, outputRuns };
  } catch {
    return undefined;
  }
}

/** The runs file; undefined for a job whose stdout and stderr were not kept apart (it has none). */
async function readRuns(file: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
