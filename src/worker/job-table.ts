import type { JobState, JobStatus } from '../gen/baton/v1/common.js';
import { isFinalState } from './exit-status.js';

/** One entry of the change log WatchJobs streams: `seq` grows by one per change in this process. */
export interface JobChange {
  seq: number;
  status: JobStatus;
  /** Undefined when the job was just added. */
  previousState: JobState | undefined;
}

export type JobChangeListener = (change: JobChange) => void;

/**
 * Every job this worker knows, with its latest status and the seq of its latest change.
 * Status objects are replaced, never mutated, so one can be handed out without copying.
 * Finished jobs stay queryable until more than `maxFinished` have finished after them.
 */
export class JobTable {
  private readonly jobs = new Map<string, { status: JobStatus; seq: number }>();
  // Ids of finished jobs, oldest first (a Set keeps insertion order).
  private readonly finished = new Set<string>();
  private readonly listeners = new Set<JobChangeListener>();
  private lastSeq = 0;

  constructor(
    private readonly maxFinished: number,
    private readonly onEvict: (jobId: string) => void,
  ) {}

  get currentSeq(): number {
    return this.lastSeq;
  }

  /** Jobs known that have not ended. */
  get active(): number {
    return this.jobs.size - this.finished.size;
  }

  has(jobId: string): boolean {
    return this.jobs.has(jobId);
  }

  get(jobId: string): JobStatus | undefined {
    return this.jobs.get(jobId)?.status;
  }

  /** The latest change of each job whose latest change is after `afterSeq`, in seq order. */
  changesAfter(afterSeq: number): JobChange[] {
    return [...this.jobs.values()]
      .filter((entry) => entry.seq > afterSeq)
      .sort((a, b) => a.seq - b.seq)
      .map(({ status, seq }) => ({ seq, status, previousState: undefined }));
  }

  all(): JobStatus[] {
    return this.changesAfter(0).map((change) => change.status);
  }

  add(status: JobStatus): void {
    if (this.jobs.has(status.jobId)) throw new Error(`job ${status.jobId} is already in the table`);
    this.record(status, undefined);
  }

  /**
   * Applies `patch` and tells every listener. Does nothing for an unknown (evicted) job.
   * `sentOnly` goes to the listeners with this change but is not kept: a small output in an
   * end report (./end-output.ts) would hold up to 10,000 finished jobs' bytes in memory; a
   * watcher that reconnects is replayed the end without it, and copies the output instead.
   */
  update(jobId: string, patch: Partial<Omit<JobStatus, 'jobId'>>, sentOnly?: Partial<Omit<JobStatus, 'jobId'>>): JobStatus | undefined {
    const entry = this.jobs.get(jobId);
    if (!entry) return undefined;
    return this.record({ ...entry.status, ...patch }, entry.status.state, sentOnly);
  }

  /** Output size changes constantly; it is refreshed without a change event so watchers are not flooded. */
  setOutputBytes(jobId: string, outputBytes: number): void {
    const entry = this.jobs.get(jobId);
    if (entry) entry.status = { ...entry.status, outputBytes };
  }

  subscribe(listener: JobChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves with the job's final status (at once if it has already ended). */
  whenFinished(jobId: string): Promise<JobStatus | undefined> {
    const current = this.get(jobId);
    if (!current || isFinalState(current.state)) return Promise.resolve(current);
    return new Promise((resolve) => {
      const unsubscribe = this.subscribe(({ status }) => {
        if (status.jobId === jobId && isFinalState(status.state)) {
          unsubscribe();
          resolve(status);
        }
      });
    });
  }

  /** Resolves after `ms`, or sooner when the job's status changes. */
  waitForChange(jobId: string, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        unsubscribe();
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      const unsubscribe = this.subscribe((change) => {
        if (change.status.jobId === jobId) done();
      });
      // A caller that stopped waiting (another wake-up came first) drops its timer and listener now.
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  private record(status: JobStatus, previousState: JobState | undefined, sentOnly?: Partial<Omit<JobStatus, 'jobId'>>): JobStatus {
    const seq = ++this.lastSeq;
    this.jobs.set(status.jobId, { status, seq });
    const change: JobChange = { seq, status: sentOnly ? { ...status, ...sentOnly } : status, previousState };
    for (const listener of [...this.listeners]) listener(change);
    if (isFinalState(status.state) && !this.finished.has(status.jobId)) {
      this.finished.add(status.jobId);
      this.evictOldFinished();
    }
    return status;
  }

  private evictOldFinished(): void {
    while (this.finished.size > this.maxFinished) {
      const oldest = this.finished.values().next().value;
      if (oldest === undefined) return;
      this.finished.delete(oldest);
      this.jobs.delete(oldest);
      this.onEvict(oldest);
    }
  }
}
