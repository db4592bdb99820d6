import type { JobStateName } from '../job-state.js';

/** What the scheduler keeps of one attempt's output. */
export interface OutputRecord {
  jobId: string;
  attempt: number;
  /** Bytes stored: the whole output once `complete`. */
  bytes: number;
  complete: boolean;
  /** The worker cut the output at its cap (the middle is gone, a marker line says how much). */
  truncated: boolean;
  createdAt: number;
  completedAt: number | null;
  /** When its bytes were deleted, and why; null and '' while kept. */
  prunedAt: number | null;
  prunedReason: string;
}

/** An ended attempt whose output the scheduler has not kept. */
export interface MissingOutput {
  jobId: string;
  attempt: number;
  workerId: string;
}

/** How an attempt ended, as its end report said. */
export interface AttemptEnded {
  workerId: string;
  state: JobStateName;
}

/** An output sent whole in an attempt's end report. */
export interface EndedOutput {
  data: Uint8Array;
  /** Which stream each byte came from; absent when they were not kept apart. */
  runs?: Uint8Array;
  truncated: boolean;
}

/** Which kept outputs a prune deletes. */
export interface PruneOutputs {
  /** Those completed before this time. */
  completedBefore?: number;
  /** The oldest, until the bytes kept are at most this. */
  keepBytes?: number;
  /** Those of these jobs, whatever their age. */
  jobIds?: readonly string[];
  /** No more than this many bytes in one prune (but always the first output chosen): a short transaction whatever the outputs' sizes. */
  maxBytes?: number;
}

/**
 * Ended attempts' output, copied from their workers in pieces, so it outlives the worker and
 * every scheduler sharing the store serves the same bytes. A copy is written from offset 0 up
 * and marked complete last; one left incomplete (its copier died) is started again.
 */
export interface OutputStore {
  /**
   * Claims the copy of an attempt's output: true when it is to be copied now (there was none,
   * or an incomplete one, whose pieces are dropped); false when it is complete or pruned.
   */
  beginOutput(jobId: string, attempt: number, now: number): Promise<boolean>;
  /** Stores `data` at `start` (the bytes before it are stored already). */
  appendOutput(jobId: string, attempt: number, start: number, data: Uint8Array): Promise<void>;
  /**
   * Keeps, complete, an output its worker sent whole with the attempt's end (empty, or small:
   * src/worker/end-output.ts), with its runs when given, in one write and no copy, if the
   * attempt ended as `end` says (its end report was applied; asked for after that write, in the
   * same turn, it shares its commit): false, storing nothing, when it did not (a stale or
   * refused report, a job that is not there). An output already recorded (an end report sent
   * again) is left as it is.
   */
  keepEndedOutput(jobId: string, attempt: number, end: AttemptEnded, output: EndedOutput, now: number): Promise<boolean>;
  /** Stores which stream each of the output's bytes came from (src/common/output-runs.ts), before it is marked complete. */
  keepOutputRuns(jobId: string, attempt: number, runs: Uint8Array): Promise<void>;
  /** The runs kept with an output; undefined when its stdout and stderr were not kept apart (or it is pruned). */
  readOutputRuns(jobId: string, attempt: number): Promise<Buffer | undefined>;
  /** Marks the copy complete at `bytes`. */
  completeOutput(jobId: string, attempt: number, bytes: number, truncated: boolean, now: number): Promise<void>;
  /** What is kept of an attempt's output; undefined when no copy was begun. */
  getOutput(jobId: string, attempt: number): Promise<OutputRecord | undefined>;
  /** Up to `maxBytes` of the stored bytes from `offset` (fewer at the end; none past it). */
  readOutput(jobId: string, attempt: number, offset: number, maxBytes: number): Promise<Buffer>;
  /**
   * Deletes the bytes of up to `batch` complete, kept outputs that `which` selects, oldest
   * completed first, recording when and why; how many it pruned.
   */
  pruneOutputs(which: PruneOutputs, reason: string, batch: number, now: number): Promise<number>;
  /** Bytes of all complete outputs still kept. */
  keptOutputBytes(): Promise<number>;
  /**
   * Up to `limit` ended attempts on these workers whose output is not kept: no copy was begun,
   * or one begun before `staleBefore` was left incomplete. Newest ended first. Attempts never
   * recorded running count too: a busy worker holds a job's running report for its end, so an
   * attempt lost in between may have run and written output.
   */
  missingOutputs(workerIds: readonly string[], staleBefore: number, limit: number): Promise<MissingOutput[]>;
  /** Deletes every trace of these jobs' outputs (their jobs are gone). */
  forgetOutputs(jobIds: readonly string[]): Promise<void>;
}
