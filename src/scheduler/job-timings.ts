import { isFinal, type JobStateName } from './job-state.js';
import type { JobRecord } from './store/job-store.js';

/** An attempt that ended on a worker, as the lifecycle's writer announces it. */
export interface AttemptEnd {
  jobId: string;
  attempt: number;
  workerId: string;
  /** How the attempt ended: succeeded, failed, stopped, timed_out or lost (also when the job is retried). */
  outcome: JobStateName;
  /** From the worker's report, when it sent one (a lost attempt has none). */
  startedAt?: number;
  finishedAt?: number;
}

type JobFields = Pick<JobRecord, 'id' | 'attempt' | 'state' | 'createdAt' | 'updatedAt' | 'nextAttemptAt' | 'runOn'>;

/**
 * Per attempt, how long it waited to run and how long it ran, from the job changes and
 * attempt ends the scheduler announces. Pure: times come from the records (and `now` only
 * for an end the worker did not date). Holds one entry per job running, waiting for others,
 * or queued but not from its submission (a retry, a released dependant); a job's entries go
 * when it reaches a final state.
 */
export class JobTimings {
  /**
   * Per job: since when its current attempt could start, when that is not its submission (its
   * retry due, its release). A first attempt could start when it was submitted, which its
   * record says: an entry per queued job was ~100 bytes of heap each in a queue of 100,000.
   */
  private readonly due = new Map<string, { attempt: number; at: number }>();
  /** Per job: since when its current attempt has run (as announced). */
  private readonly running = new Map<string, { attempt: number; at: number }>();
  /** Jobs seen waiting for the jobs they depend on: their queue wait starts at their release. */
  private readonly waiting = new Set<string>();

  /** A job change; returns the queue wait in seconds when the change is an attempt starting to run. */
  jobChanged(job: JobFields, previous: JobStateName | null | undefined): number | undefined {
    // A run_on-all parent never runs itself: its state sums up its children's, which are counted.
    if (job.runOn === 'all') return undefined;
    if (isFinal(job.state)) {
      this.due.delete(job.id);
      this.running.delete(job.id);
      this.waiting.delete(job.id);
      return undefined;
    }
    if (job.state === 'waiting') {
      this.waiting.add(job.id);
      return undefined;
    }
    if (job.state === 'queued' || job.state === 'dispatched') {
      // Unplaced and placed again, the attempt keeps waiting from when it first could start.
      if (this.due.get(job.id)?.attempt !== job.attempt) {
        // A retry waits for its backoff first, and a dependent job for the jobs it depends on:
        // those parts are the policy's, not the queue's.
        const released = this.waiting.delete(job.id);
        if (released || job.attempt > 1) this.due.set(job.id, { attempt: job.attempt, at: released ? job.updatedAt : Math.max(job.nextAttemptAt ?? job.updatedAt, job.updatedAt) });
      }
      return undefined;
    }
    if (job.state !== 'running' || previous === 'running' || previous === 'unknown') return undefined;
    // Back from unknown (announced without its previous state): the attempt goes on from its first start.
    if (this.running.get(job.id)?.attempt === job.attempt) return undefined;
    // A running change is dated by its start (the worker's time when it reported the start and the end together).
    this.running.set(job.id, { attempt: job.attempt, at: job.updatedAt });
    const due = this.due.get(job.id);
    this.due.delete(job.id);
    const at = due?.attempt === job.attempt ? due.at : job.attempt === 1 && !this.waiting.has(job.id) ? job.createdAt : undefined;
    if (at === undefined) return undefined;
    return Math.max(0, job.updatedAt - at) / 1000;
  }

  /** An attempt ended; returns how long it ran, in seconds, when its start is known. */
  attemptEnded(end: AttemptEnd, now: number): number | undefined {
    const running = this.running.get(end.jobId);
    if (running?.attempt === end.attempt) this.running.delete(end.jobId);
    const startedAt = end.startedAt ?? (running?.attempt === end.attempt ? running.at : undefined);
    if (startedAt === undefined) return undefined;
    return Math.max(0, (end.finishedAt ?? now) - startedAt) / 1000;
  }

  /** Entries held (for the test that nothing is left behind). */
  get size(): number {
    return this.due.size + this.running.size + this.waiting.size;
  }
}
