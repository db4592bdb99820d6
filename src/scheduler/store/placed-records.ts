import type { JobRecord } from './job-store.js';

/** Placed jobs kept at most; past it the oldest are forgotten (their writes read the whole row back, as any other). */
const PLACED_MAX = 10_000;
/** A job with more stdin than this is not kept: a placed job's record should not hold a large input in memory. */
const PLACED_MAX_STDIN = 4096;

/**
 * The records of jobs placed on a worker (dispatched or running), from their creation or
 * dispatch until their attempt ends, so that a status write reads back only the columns that
 * change (`CHANGING`): the job's status writes are most of a busy scheduler's, and reading back
 * and parsing its whole row (arguments, environment, labels… as JSON) cost more than the write.
 * Only fixed fields are taken from here, so a record kept is never stale, whoever else writes
 * the row (another scheduler on a shared store). A job ending elsewhere is forgotten by the bound.
 */
export class PlacedRecords {
  readonly #records = new Map<string, JobRecord>();

  add(job: JobRecord): void {
    if (job.stdin.length > PLACED_MAX_STDIN) return;
    this.#records.set(job.id, job);
    if (this.#records.size > PLACED_MAX) this.#records.delete(this.#records.keys().next().value!);
  }

  get(jobId: string): JobRecord | undefined {
    return this.#records.get(jobId);
  }

  delete(jobId: string): void {
    this.#records.delete(jobId);
  }
}
