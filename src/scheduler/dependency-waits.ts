import type { Logger } from '../common/logger.js';
import { type DependencyState, GONE, judge } from './dependencies.js';
import type { JobStatusApplier } from './job-status.js';
import type { JobRecord, JobStore } from './store/job-store.js';

/**
 * The leader's jobs in `waiting`: each is judged (dependencies.ts) when it arrives and each
 * time a job it waits for ends, then released to the queue (`release`) or skipped, through the
 * one writer. A skipped job ends like any other, so the jobs after it are judged in turn.
 */
export class DependencyWaits {
  private readonly waiting = new Map<string, JobRecord>();
  /** Per job waited for, the waiting jobs that wait for it. */
  private readonly dependents = new Map<string, Set<string>>();

  constructor(
    private readonly store: JobStore,
    private readonly applier: JobStatusApplier,
    /** A released job, now queued: the dispatcher takes it. */
    private readonly released: (job: JobRecord) => void,
    private readonly log: Logger,
  ) {}

  /** A job stored `waiting`: judged now (what it waits for may have ended already). */
  add(job: JobRecord): void {
    if (this.waiting.has(job.id)) return;
    this.waiting.set(job.id, job);
    for (const id of job.after) {
      let set = this.dependents.get(id);
      if (!set) this.dependents.set(id, (set = new Set()));
      set.add(job.id);
    }
    void this.judge(job);
  }

  /** A job ended (or left `waiting` itself, stopped): the jobs waiting for it are judged again. */
  ended(jobId: string): void {
    this.forget(jobId);
    for (const id of this.dependents.get(jobId) ?? []) {
      const job = this.waiting.get(id);
      if (job) void this.judge(job);
    }
  }

  private forget(jobId: string): void {
    const job = this.waiting.get(jobId);
    if (!job) return;
    this.waiting.delete(jobId);
    for (const id of job.after) {
      const set = this.dependents.get(id);
      set?.delete(jobId);
      if (set?.size === 0) this.dependents.delete(id);
    }
  }

  private async judge(job: JobRecord): Promise<void> {
    const log = { job_id: job.id };
    try {
      const states = new Map<string, DependencyState>();
      for (const id of job.after) {
        const found = await this.store.getJob(id);
        states.set(id, found ? found.job.state : GONE);
      }
      const verdict = judge({ after: job.after, condition: job.afterCondition }, states);
      if (verdict.kind === 'wait' || !this.waiting.has(job.id)) return;
      if (verdict.kind === 'skip') {
        // Final: the writer tells the dispatcher, whose `ended` judges the jobs after this one.
        await this.applier.apply(job.id, job.attempt, '', 'skip', { state: 'skipped', reason: verdict.reason, error: verdict.reason });
        return;
      }
      if (await this.applier.apply(job.id, job.attempt, '', 'release', { state: 'queued' })) {
        this.forget(job.id);
        const queued = await this.store.getJob(job.id);
        if (queued) this.released(queued.job);
      }
    } catch (err) {
      this.log.error({ ...log, err }, 'cannot judge a job waiting for others');
    }
  }
}
