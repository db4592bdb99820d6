import type { Logger } from '../common/logger.js';
import type { JobStatus } from '../gen/baton/v1/common.js';
import { fromWorkerState, isFinal, reportTransition, type JobStateName, type TransitionName } from './job-state.js';
import type { EventBus } from './events.js';
import { decideRetry, isRetryOutcome, type RetryOutcome } from './retry-policy.js';
import type { JobRecord, JobStore, NewJob, PassedThrough, StatusUpdate } from './store/job-store.js';

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
    ...(status.outputBytes !== undefined && { outputBytes: status.outputBytes }),
    ...(status.outputData !== undefined && { outputData: status.outputData }),
    ...(status.outputRuns !== undefined && { outputRuns: status.outputRuns }),
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

/** What the dispatcher hears from the writer. */
export interface JobEvents {
  /** The worker reported attempt `attempt` on it ended; the write of that end is asked for, not yet committed. */
  attemptEnding(jobId: string, attempt: number, workerId: string): void;
  /** The attempt on `workerId` ('' for a job never placed) ended, or the job was stopped while queued: its slot is free. */
  attemptEnded(jobId: string, workerId: string): void;
  /** The job waits in the queue again, for a new attempt. */
  requeued(job: JobRecord): void;
}

/**
 * The one writer of job state: every transition of the lifecycle (job-state.ts) is applied
 * here, through the store's conditional writes (each stores its event row in the same
 * transaction), and each change that was applied gets one log line and one announcement on
 * the bus, from here only. Reports that the lifecycle does not allow from where the job is
 * are logged and ignored. An attempt that ends failed, lost or timed out is retried here when
 * its job's policy says so: the attempt ends and the next one is queued in one store write.
 */
export class JobStatusApplier {
  /** Set once the dispatcher exists. */
  events: JobEvents | undefined;
  /** Told when an attempt on a worker ends, so its output is kept (output-keeper.ts). */
  outputs: { attemptEnded(jobId: string, attempt: number, workerId: string, update: StatusUpdate): void } | undefined;

  constructor(
    private readonly store: JobStore,
    private readonly bus: EventBus,
    private readonly log: Logger,
    private readonly jitter: () => number = Math.random,
  ) {}

  /** create / createPlaced: the jobs (and their first attempts) in one transaction, all or none. */
  async create(jobs: readonly NewJob[]): Promise<JobRecord[]> {
    const created = await this.store.createJobs(jobs);
    for (const job of created) this.changed(job, null, job.workerId === '' ? 'create' : 'createPlaced');
    return created;
  }

  /** dispatch: queued → dispatched on `workerId`; undefined when the job is no longer queued at that attempt. */
  async dispatch(job: Pick<JobRecord, 'id' | 'attempt'>, workerId: string): Promise<JobRecord | undefined> {
    const marked = await this.store.markDispatched(job.id, job.attempt, workerId, Date.now());
    if (marked) this.changed(marked, 'queued', 'dispatch');
    return marked;
  }

  /** unplace: dispatched → queued, the same attempt waiting for a placement again (`reason` says why). */
  async unplace(jobId: string, attempt: number, workerId: string, reason: string): Promise<JobRecord | undefined> {
    const queued = await this.store.returnToQueue(jobId, attempt, workerId, reason, Date.now());
    if (queued) this.changed(queued, 'dispatched', 'unplace', { reason });
    return queued;
  }

  /** Why a queued job waits: shown on the job, announced, not a transition. */
  async setReason(job: Pick<JobRecord, 'id' | 'attempt'>, reason: string): Promise<void> {
    const stored = await this.store.setReason(job.id, job.attempt, reason, Date.now());
    if (stored) this.bus.emit('job', stored, stored.state);
  }

  /** Who asked for the stop (the first asker is kept): announced, not a transition. */
  async setStoppedBy(jobId: string, by: string): Promise<void> {
    const stored = await this.store.setStoppedBy(jobId, by, Date.now());
    if (stored) this.bus.emit('job', stored, stored.state);
  }

  /** summarise: a run_on-all parent's state from its children's. */
  async summarise(parentId: string, state: JobStateName): Promise<void> {
    const stored = await this.store.setParentState(parentId, state, Date.now());
    if (stored) this.changed(stored, undefined, 'summarise', { children: stored.children.length });
  }

  /**
   * Applies `transition` to attempt `attempt` of a job, on `workerId` ('' for a job on no
   * worker). `ranFirst`: the worker's RUNNING report of this attempt was superseded by
   * `update` before it was written (see status-burst.ts); the job is written once, but the
   * change to running is still recorded, announced and logged before the end.
   */
  async apply(jobId: string, attempt: number, workerId: string, transition: TransitionName, update: StatusUpdate, ranFirst = false): Promise<boolean> {
    if (isRetryOutcome(update.state) && workerId !== '' && (await this.retry(jobId, attempt, workerId, transition, update.state, update, ranFirst))) return true;
    const passedThrough: PassedThrough | undefined = ranFirst ? (job) => [asRunning(job, update)] : undefined;
    const write = this.store.applyStatus(jobId, attempt, workerId, transition, update, Date.now(), passedThrough);
    // An output its worker says is empty, or sent whole in the end report, is only stored:
    // asked for in the same turn as the end's write and after it, it shares that write's commit
    // and is stored only if the end was applied (the store checks the attempt's row).
    const keptWithEnd = isFinal(update.state) && (update.outputBytes === 0 || update.outputData !== undefined);
    if (keptWithEnd) this.outputs?.attemptEnded(jobId, attempt, workerId, update);
    if (isFinal(update.state) && workerId !== '') this.events?.attemptEnding(jobId, attempt, workerId);
    let result = await write;
    // A running report for an attempt whose worker had stopped answering: it answers again.
    if (!result.applied && transition === 'start' && result.current === 'unknown') {
      transition = 'reconnect';
      result = await this.store.applyStatus(jobId, attempt, workerId, transition, update, Date.now());
    }
    if (result.applied) {
      const job = result.job;
      if (passedThrough) for (const earlier of passedThrough(job)) this.changed(earlier, undefined, 'start');
      this.changed(job, undefined, transition, update);
      if (isFinal(update.state)) {
        if (workerId !== '') this.announceAttemptEnd(jobId, attempt, workerId, update);
        this.events?.attemptEnded(jobId, workerId);
        if (!keptWithEnd) this.outputs?.attemptEnded(jobId, attempt, workerId, update);
      }
    } else if (result.current === undefined) {
      this.log.info(
        { job_id: jobId, attempt, worker_id: workerId, state: update.state, transition },
        "status for an attempt that is not the job's current one on this worker ignored",
      );
    } else if (result.current !== update.state) {
      // Same-state repeats are normal (WatchJobs replays every job on reconnect); only a refused change is worth a line.
      this.log.info(
        { job_id: jobId, worker_id: workerId, state: update.state, current: result.current, transition },
        'job status refused: the lifecycle does not allow it from the current state',
      );
    }
    return result.applied;
  }

  /** One log line and one announcement per state change. */
  private changed(job: JobRecord, previous: JobStateName | null | undefined, transition: TransitionName, details: Omit<StatusUpdate, 'state'> & { children?: number } = {}): void {
    this.log.info(
      {
        job_id: job.id,
        attempt: job.attempt,
        worker_id: job.workerId || undefined,
        state: job.state,
        transition,
        exit_code: details.exitCode ?? undefined,
        signal: details.signal || undefined,
        error: details.error || undefined,
        reason: details.reason || undefined,
        children: details.children,
      },
      'job state changed',
    );
    this.bus.emit('job', job, previous);
  }

  /** Announces how an attempt on a worker ended, with the worker's times when it sent them. */
  private announceAttemptEnd(jobId: string, attempt: number, workerId: string, update: StatusUpdate): void {
    this.bus.emit('attempt', {
      jobId,
      attempt,
      workerId,
      outcome: update.state,
      ...(update.startedAt !== undefined && { startedAt: update.startedAt }),
      ...(update.finishedAt !== undefined && { finishedAt: update.finishedAt }),
    });
  }

  /** For reports from a worker; never throws (a bad report must not break the stream it came on). */
  async applyWorkerStatus(workerId: string, status: JobStatus, ranFirst = false): Promise<void> {
    const update = updateFromWorker(status);
    // STARTING ("dispatched") can move nothing: the store marks a job dispatched before its
    // StartJob is sent. Applying it cost a failed UPDATE and a SELECT per job.
    const transition = update && reportTransition(update.state);
    if (!update || !transition) return;
    const { jobId, attempt } = parseRunId(status.jobId);
    try {
      await this.apply(jobId, attempt, workerId, transition, update, ranFirst);
    } catch (err) {
      this.log.error({ job_id: jobId, worker_id: workerId, err }, 'cannot record job status');
    }
  }

  /** True when the policy asked for another attempt and it is now queued. */
  private async retry(jobId: string, attempt: number, workerId: string, ending: TransitionName, outcome: RetryOutcome, update: StatusUpdate, ranFirst: boolean): Promise<boolean> {
    const found = await this.store.getJob(jobId);
    const job = found?.job;
    if (!job || job.attempt !== attempt || job.workerId !== workerId || isFinal(job.state)) return false;
    const now = Date.now();
    const decision = decideRetry(job.retry, attempt, outcome, now, this.jitter());
    if ('giveUp' in decision) return false;
    const reason = `attempt ${attempt} ${outcome.replace('_', ' ')}${update.error ? ` (${update.error})` : ''}; attempt ${attempt + 1} from ${new Date(decision.retryAt).toISOString()}`;
    const wasRunning = ranFirst && job.state !== 'running';
    const requeued = await this.store.requeueForRetry(
      jobId,
      attempt,
      workerId,
      ending,
      update,
      decision.retryAt,
      reason,
      now,
      wasRunning ? () => [asRunning(job, update)] : undefined,
    );
    if (!requeued) return false;
    if (wasRunning) this.changed(asRunning(job, update), job.state, 'start');
    this.log.info(
      {
        job_id: jobId,
        attempt,
        worker_id: workerId,
        state: 'queued',
        transition: 'retry',
        outcome,
        error: update.error || undefined,
        next_attempt: attempt + 1,
        retry_at: decision.retryAt,
      },
      'job state changed',
    );
    this.bus.emit('job', requeued, wasRunning ? 'running' : job.state);
    this.announceAttemptEnd(jobId, attempt, workerId, update);
    this.events?.attemptEnded(jobId, workerId);
    this.outputs?.attemptEnded(jobId, attempt, workerId, update);
    this.events?.requeued(requeued);
    return true;
  }
}
