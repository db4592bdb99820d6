import { status as GrpcStatus } from '@grpc/grpc-js';
import { BatonError, fromWorkerCallError, isServiceError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { StartJobRequest } from '../gen/baton/v1/worker.js';
import { runId, type JobEvents, type JobStatusApplier } from './job-status.js';
import { place, type WorkerSnapshot } from './placement.js';
import type { Registry } from './registry.js';
import type { JobRecord, Store } from './store/store.js';

/** StartJob only validates and answers; a few seconds is plenty and bounds a hung worker. */
const START_TIMEOUT_MS = 5_000;
/** After a worker refused a start for lack of room, look again this much later (its count may lag ours). */
const REFUSED_RETRY_MS = 500;

export type DispatchResult =
  | { kind: 'dispatched'; job: JobRecord }
  | { kind: 'queued'; job: JobRecord }
  /** The worker refused the start for good (bad command, unreachable…): the attempt failed. */
  | { kind: 'failed'; job: JobRecord; error: BatonError }
  /** Stopped or taken by someone else between the decision and the commit. */
  | { kind: 'gone'; job: JobRecord };

/**
 * The queue and the one place that applies placement decisions. It mirrors every job not yet
 * final: queued ones wait in `queue` (priority, then arrival), placed ones sit in `placed`
 * and count against their worker's capacity from the moment they are chosen, before the
 * worker has confirmed anything.
 *
 * A pass is synchronous: snapshot → place → reserve, job after job, so two passes never
 * see the same free slot. The store commit (queued → dispatched, conditional) and the
 * StartJob call happen afterwards, per job, without holding anything other dispatches need.
 * A pass runs when a job arrives, an attempt ends, a worker comes up, or a retry is due.
 */
export class Dispatcher implements JobEvents {
  private queue: JobRecord[] = [];
  private readonly placed = new Map<string, { job: JobRecord; workerId: string }>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private passScheduled = false;
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly registry: Registry,
    private readonly applier: JobStatusApplier,
    private readonly log: Logger,
  ) {}

  /** Rebuilds the queue and the per-worker counts from the store; retries waiting for their time are re-armed. */
  async start(): Promise<void> {
    for (const job of await this.store.listActiveJobs()) {
      if (job.state === 'queued') this.enqueue(job);
      else this.placed.set(job.id, { job, workerId: job.workerId });
    }
    this.log.info({ queued: this.queue.length, placed: this.placed.size }, 'dispatcher started');
    this.schedulePass();
  }

  /** Jobs waiting, retries not yet due included: what the queue bound counts. */
  get queuedCount(): number {
    return this.queue.length;
  }

  /**
   * Queues a job the store already holds and runs a pass at once. Resolves when this job's
   * fate is known for now: started on a worker, failed to start, or left waiting (with a reason).
   */
  submit(job: JobRecord): Promise<DispatchResult> {
    this.enqueue(job);
    const inflight = this.pass().get(job.id);
    return inflight ?? Promise.resolve({ kind: 'queued', job: this.queue.find((j) => j.id === job.id) ?? job });
  }

  attemptEnded(jobId: string, workerId: string): void {
    if (this.placed.get(jobId)?.workerId === workerId) this.placed.delete(jobId);
    if (workerId === '') this.dequeue(jobId); // stopped while queued
    this.schedulePass();
  }

  requeued(job: JobRecord): void {
    this.placed.delete(job.id);
    this.enqueue(job);
    this.schedulePass();
  }

  /** A worker registered (again): its room may take queued jobs. */
  workerUp(): void {
    this.schedulePass();
  }

  /** The worker's lease ran out: every attempt placed there ends `lost` (and is retried if its policy says so). */
  workerLost(workerId: string, error: string): void {
    for (const [jobId, { job, workerId: on }] of this.placed) {
      if (on !== workerId) continue;
      this.applier.apply(jobId, job.attempt, workerId, { state: 'lost', error }).catch((err: unknown) => this.log.error({ job_id: jobId, err }, 'cannot record a lost job'));
    }
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private schedulePass(): void {
    if (this.passScheduled || this.closed) return;
    this.passScheduled = true;
    setImmediate(() => {
      this.passScheduled = false;
      if (!this.closed) this.pass();
    });
  }

  /** One synchronous pass over the queue; returns the dispatches it started. */
  private pass(): Map<string, Promise<DispatchResult>> {
    const started = new Map<string, Promise<DispatchResult>>();
    const now = Date.now();
    const snapshot = this.snapshot();
    const byId = new Map(snapshot.map((w) => [w.id, w]));
    for (const job of [...this.queue]) {
      if (job.nextAttemptAt !== null && job.nextAttemptAt > now) continue; // its timer will call
      const decision = place({ labels: job.labels, ...(job.pinnedWorker !== '' && { pinnedWorker: job.pinnedWorker }) }, snapshot);
      if ('reason' in decision) {
        if (job.reason !== decision.reason) {
          job.reason = decision.reason;
          this.store.setReason(job.id, job.attempt, decision.reason).catch((err: unknown) => this.log.error({ job_id: job.id, err }, 'cannot record why a job waits'));
        }
        continue;
      }
      // Reserve now, commit later: the count includes this job before anything is sent.
      this.dequeue(job.id);
      this.placed.set(job.id, { job, workerId: decision.workerId });
      byId.get(decision.workerId)!.running++;
      started.set(job.id, this.dispatch(job, decision.workerId));
    }
    return started;
  }

  private snapshot(): WorkerSnapshot[] {
    const running = new Map<string, number>();
    for (const { workerId } of this.placed.values()) running.set(workerId, (running.get(workerId) ?? 0) + 1);
    return this.registry.list().map((w) => ({
      id: w.id,
      // Without a channel (known from the store, not registered since this scheduler started) a worker cannot be called.
      state: w.channel ? w.state : w.state === 'up' ? 'down' : w.state,
      labels: w.labels,
      capacity: w.capacity,
      running: running.get(w.id) ?? 0,
      draining: false,
    }));
  }

  /** queued → dispatched in the store (only if still queued), then StartJob. */
  private async dispatch(job: JobRecord, workerId: string): Promise<DispatchResult> {
    const attempt = { job_id: job.id, attempt: job.attempt, worker_id: workerId };
    try {
      if (!(await this.store.markDispatched(job.id, job.attempt, workerId, Date.now()))) {
        this.placed.delete(job.id);
        return { kind: 'gone', job };
      }
    } catch (err) {
      this.log.error({ ...attempt, err }, 'cannot record a dispatch; the job stays queued');
      this.placed.delete(job.id);
      this.enqueue(job);
      this.retryLater(job.id, REFUSED_RETRY_MS);
      return { kind: 'queued', job };
    }
    const dispatched: JobRecord = { ...job, state: 'dispatched', workerId, reason: '', nextAttemptAt: null };
    const channel = this.registry.get(workerId)?.channel;
    try {
      if (!channel) throw new BatonError('WORKER_UNAVAILABLE', `worker ${workerId} is not connected`);
      await channel.startJob(startRequest(job), START_TIMEOUT_MS);
      this.log.info(attempt, 'job dispatched');
      return { kind: 'dispatched', job: dispatched };
    } catch (err) {
      if (isServiceError(err) && err.code === GrpcStatus.RESOURCE_EXHAUSTED) return this.refused(dispatched, workerId, err.details);
      const error = err instanceof BatonError ? err : fromWorkerCallError(err, channel?.who ?? `worker ${workerId}`);
      await this.applier.apply(job.id, job.attempt, workerId, { state: 'failed', error: error.message }).catch((e: unknown) => this.log.error({ ...attempt, err: e }, 'cannot record job state'));
      return { kind: 'failed', job: { ...dispatched, state: 'failed', error: error.message }, error };
    }
  }

  /** The worker had no room after all (its own count is the last word): back to the queue, not failed. */
  private async refused(job: JobRecord, workerId: string, details: string): Promise<DispatchResult> {
    const reason = `worker ${workerId} refused it for lack of room (${details}); waiting for a free slot`;
    this.log.info({ job_id: job.id, attempt: job.attempt, worker_id: workerId, reason }, 'job back in the queue');
    const back = await this.store.returnToQueue(job.id, job.attempt, workerId, reason, Date.now()).catch((err: unknown) => {
      this.log.error({ job_id: job.id, err }, 'cannot put a refused job back in the queue');
      return false;
    });
    if (!back) return { kind: 'gone', job };
    const queued: JobRecord = { ...job, state: 'queued', workerId: '', reason };
    this.placed.delete(job.id);
    this.enqueue(queued);
    this.retryLater(job.id, REFUSED_RETRY_MS);
    return { kind: 'queued', job: queued };
  }

  /** Sorted insert: priority high to low, then arrival (ids are time-ordered); a retry not yet due gets a timer. */
  private enqueue(job: JobRecord): void {
    this.dequeue(job.id);
    const before = (a: JobRecord, b: JobRecord): boolean => a.priority > b.priority || (a.priority === b.priority && a.id < b.id);
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (before(this.queue[mid]!, job)) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, job);
    if (job.nextAttemptAt !== null) this.retryLater(job.id, job.nextAttemptAt - Date.now());
  }

  private dequeue(jobId: string): void {
    const i = this.queue.findIndex((j) => j.id === jobId);
    if (i >= 0) this.queue.splice(i, 1);
    clearTimeout(this.timers.get(jobId));
    this.timers.delete(jobId);
  }

  private retryLater(jobId: string, delayMs: number): void {
    if (this.closed) return;
    clearTimeout(this.timers.get(jobId));
    const timer = setTimeout(() => {
      this.timers.delete(jobId);
      this.schedulePass();
    }, Math.max(0, delayMs));
    timer.unref();
    this.timers.set(jobId, timer);
  }
}

/** What the worker needs to start the job's current attempt. */
function startRequest(job: JobRecord): StartJobRequest {
  // The sandbox requests (resources, network, isolate) go through as the caller gave them; the worker checks them.
  return StartJobRequest.fromPartial({ ...job.sandbox, jobId: runId(job.id, job.attempt), command: job.command, path: job.path, args: job.args, env: job.env, cwd: job.cwd });
}
