import type { Logger } from '../common/logger.js';
import type { JobStatus } from '../gen/baton/v1/common.js';
import { fromWorkerState, isFinal } from './job-state.js';
import type { EventBus } from './events.js';
import { decideRetry, isRetryOutcome, type RetryOutcome } from './retry-policy.js';
import type { JobRecord, StatusUpdate, Store } from './store/store.js';

/** A worker's JobStatus as a store update; null when it carries no state. */
export function updateFromWorker(status: JobStatus): StatusUpdate | null {
  const state = fromWorkerState(status.state);
  if (state === null) return null;
  return {
    state,
    exitCode: status.exitCode ?? null,
    signal: status.signal,
    error: status.error,
    outputTruncated: status.outputTruncated,
    ...(status.startedAtMs > 0 && { startedAt: status.startedAtMs }),
    ...(status.finishedAtMs > 0 && { finishedAt: status.finishedAtMs }),
  };
}

/**
 * The id a worker knows an attempt by. The first attempt runs under the job's own id; later
 * ones add ".N", because a worker refuses an id it has seen and may see the job again.
 */
export function runId(jobId: string, attempt: number): string {
  return attempt === 1 ? jobId : `${jobId}.${attempt}`;
}

export function parseRunId(id: string): { jobId: string; attempt: number } {
  const m = /^(.*)\.([0-9]+)$/.exec(id);
  return m ? { jobId: m[1]!, attempt: Number(m[2]) } : { jobId: id, attempt: 1 };
}

/** The job as it was while running: what a superseded RUNNING report would have stored. */
function asRunning(job: JobRecord, update: StatusUpdate): JobRecord {
  return { ...job, state: 'running', exitCode: null, signal: '', error: '', errorCode: '', finishedAt: null, updatedAt: update.startedAt ?? job.updatedAt };
}

/** What the dispatcher hears from the applier. */
export interface JobEvents {
  /** The attempt on `workerId` ('' for a job never placed) ended, or the job was stopped while queued: its slot is free. */
  attemptEnded(jobId: string, workerId: string): void;
  /** The job waits in the queue again, for a new attempt. */
  requeued(job: JobRecord): void;
}

/**
 * The one path by which job states change: through the store's checked operations, with
 * one log line per change. Reports that would move a job backwards are logged and ignored.
 * An attempt that ends failed, lost or timed out is retried here when its job's policy says
 * so: the attempt ends and the next one is queued in one store operation.
 */
export class JobStatusApplier {
  /** Set once the dispatcher exists (it also applies states through here). */
  events: JobEvents | undefined;

  constructor(
    private readonly store: Store,
    private readonly bus: EventBus,
    private readonly log: Logger,
    private readonly jitter: () => number = Math.random,
  ) {}

  /**
   * `ranFirst`: the worker's RUNNING report of this attempt was superseded by `update` before
   * it was written (see status-burst.ts). The job is written once, but the change to running
   * is still announced and logged, before the end, so watchers and metrics see every state.
   */
  async apply(jobId: string, attempt: number, workerId: string, update: StatusUpdate, ranFirst = false): Promise<boolean> {
    if (isRetryOutcome(update.state) && workerId !== '' && (await this.retry(jobId, attempt, workerId, update.state, update, ranFirst))) return true;
    const result = await this.store.applyStatus(jobId, attempt, workerId, update, Date.now());
    if (result.applied) {
      const job = result.job;
      if (ranFirst) this.changed(asRunning(job, update), {});
      this.changed(job, update);
      if (isFinal(update.state)) this.events?.attemptEnded(jobId, workerId);
    } else if (result.current === undefined) {
      this.log.info({ job_id: jobId, attempt, worker_id: workerId, state: update.state }, "status for an attempt that is not the job's current one on this worker ignored");
    } else if (result.current !== update.state) {
      // Same-state repeats are normal (WatchJobs replays every job on reconnect); only a real regression is worth a line.
      this.log.info({ job_id: jobId, worker_id: workerId, state: update.state, current: result.current }, 'job status refused: it would move the job backwards');
    }
    return result.applied;
  }

  /** One log line and one announcement per state change. */
  private changed(job: JobRecord, update: Omit<StatusUpdate, 'state'>): void {
    this.log.info(
      {
        job_id: job.id,
        attempt: job.attempt,
        worker_id: job.workerId || undefined,
        state: job.state,
        exit_code: update.exitCode ?? null,
        signal: update.signal || undefined,
        error: update.error || undefined,
      },
      'job state changed',
    );
    this.bus.emit('job', job, undefined);
  }

  /** For reports from a worker; never throws (a bad report must not break the stream it came on). */
  async applyWorkerStatus(workerId: string, status: JobStatus, ranFirst = false): Promise<void> {
    const update = updateFromWorker(status);
    // STARTING ("dispatched") can move nothing: the store marks a job dispatched before its
    // StartJob is sent. Applying it cost a failed UPDATE and a SELECT per job.
    if (update === null || update.state === 'dispatched') return;
    const { jobId, attempt } = parseRunId(status.jobId);
    try {
      await this.apply(jobId, attempt, workerId, update, ranFirst);
    } catch (err) {
      this.log.error({ job_id: jobId, worker_id: workerId, err }, 'cannot record job status');
    }
  }

  /** True when the policy asked for another attempt and it is now queued. */
  private async retry(jobId: string, attempt: number, workerId: string, outcome: RetryOutcome, update: StatusUpdate, ranFirst: boolean): Promise<boolean> {
    const found = await this.store.getJob(jobId);
    const job = found?.job;
    if (!job || job.attempt !== attempt || job.workerId !== workerId || isFinal(job.state)) return false;
    const now = Date.now();
    const decision = decideRetry(job.retry, attempt, outcome, now, this.jitter());
    if ('giveUp' in decision) return false;
    const reason = `attempt ${attempt} ${outcome.replace('_', ' ')}${update.error ? ` (${update.error})` : ''}; attempt ${attempt + 1} from ${new Date(decision.retryAt).toISOString()}`;
    const requeued = await this.store.requeueForRetry(jobId, attempt, workerId, update, decision.retryAt, reason, now);
    if (!requeued) return false;
    if (ranFirst && job.state !== 'running') this.changed(asRunning(job, update), {});
    this.log.info(
      { job_id: jobId, attempt, worker_id: workerId, state: outcome, error: update.error || undefined, next_attempt: attempt + 1, retry_at: decision.retryAt },
      'job attempt ended; retrying',
    );
    this.bus.emit('job', requeued, ranFirst ? 'running' : job.state);
    this.events?.attemptEnded(jobId, workerId);
    this.events?.requeued(requeued);
    return true;
  }
}
