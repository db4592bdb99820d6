import { status as GrpcStatus } from '@grpc/grpc-js';
import { BatonError, fromWorkerCallError, isServiceError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { StartJobRequest } from '../gen/baton/v1/worker.js';
import { activeByKey } from './concurrency.js';
import { DependencyWaits } from './dependency-waits.js';
import { runId, type JobEvents, type JobStatusApplier } from './job-status.js';
import { isFinal } from './job-state.js';
import type { WorkerSnapshot } from './placement.js';
import { planPass, queueOrder } from './planner.js';
import { placedJob, queueEntry, type PlacedJob, type QueueEntry } from './queue-entry.js';
import { freshOnly, settle, workersKey, type Settled } from './settled-pass.js';
import type { Registry } from './registry.js';
import { tooLargeFrom } from './start-chunks.js';
import { base64Bytes, type JobRecord, type JobStore, type NewJob, type StatusUpdate } from './store/job-store.js';
import { neverConnected } from './worker-channel.js';

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

/** What became of a queued job a pass placed: a job that never reached the store's dispatch write is known by its queue entry only. */
type Placing = DispatchResult | { kind: 'queued' | 'gone'; entry: QueueEntry | undefined };

/**
 * The queue, and the one place that carries out placement plans. It mirrors every job not yet
 * final (by its queue entry: queue-entry.ts): queued ones wait in `queued`, placed ones sit in
 * `placed` and count against their worker's capacity from the moment they are chosen, before
 * the worker has confirmed anything.
 *
 * A pass is synchronous: snapshot → plan (`planPass`, pure) → reserve every start, so two
 * passes never see the same free slot. The store commit (queued → dispatched, conditional)
 * and the StartJob call happen afterwards, per job, without holding anything other
 * dispatches need. A pass runs when a job arrives, an attempt ends, a worker comes up, or a
 * retry is due.
 */
// A returning worker is asked about a job it did not list; a silent one is left for the TTL to judge.
const RECONCILE_QUERY_TIMEOUT_MS = 5_000;

export class Dispatcher implements JobEvents {
  /**
   * In queue order (`queueOrder`), kept so by binary insertion, so the planner's sort finds it
   * sorted (one walk). An entry counts only while `queued` maps its id to that same object, so
   * taking a job out is O(1) (the stale entry is dropped by the next pass).
   */
  private queue: QueueEntry[] = [];
  private readonly queued = new Map<string, QueueEntry>();
  private readonly placed = new Map<string, { job: PlacedJob; workerId: string }>();
  /** One timer for the earliest pass asked for (a retry due, a refused start to try again). */
  private wake: { timer: NodeJS.Timeout; at: number } | undefined;
  /** Jobs between their reservation in a pass and the worker's answer to StartJob. */
  private readonly starting = new Set<string>();
  private passScheduled = false;
  /** A pass is due in a microtask of this turn (attemptEnding). */
  private passThisTurn = false;
  /** The jobs queued since the last pass, and what that pass left (see settled-pass.ts). */
  private fresh: QueueEntry[] = [];
  private settled: Settled | undefined;
  private closed = false;
  /** False until `start`: a follower of a shared store neither queues nor places (the leader does). */
  leading = false;
  /**
   * Stops jobs a new job of their concurrency key asked to cancel (on_limit cancel_in_progress);
   * set by the job service, which owns stopping. `by` names the job and the key (the jobs' stopped_by).
   */
  cancelJobs: ((jobIds: readonly string[], by: string) => void) | undefined;
  /** Jobs a cancel_in_progress has asked to stop: asked once, however many passes see them still running. */
  private readonly cancelling = new Set<string>();
  /** Jobs `waiting` for others, before they join the queue. */
  private readonly waits: DependencyWaits;

  constructor(
    private readonly store: JobStore,
    private readonly registry: Registry,
    private readonly applier: JobStatusApplier,
    private readonly log: Logger,
  ) {
    this.waits = new DependencyWaits(store, applier, (job) => this.requeued(job), log);
  }

  /** Rebuilds the queue and the per-worker counts from the store; retries waiting for their time are re-armed. */
  async start(): Promise<void> {
    this.leading = true;
    for (const job of await this.store.listActiveJobs()) {
      if (job.state === 'queued') this.enqueue(queueEntry(job));
      else if (job.state === 'waiting') this.waits.add(job);
      else this.placed.set(job.id, { job: placedJob(job, job.state), workerId: job.workerId });
    }
    this.log.info({ queued: this.queued.size, placed: this.placed.size }, 'dispatcher started');
    this.schedulePass();
  }

  /** Jobs waiting, retries not yet due included: what the queue bound counts. */
  get queuedCount(): number {
    return this.queued.size;
  }

  /**
   * Places new jobs before they are stored, when nothing waits in the queue that they could
   * overtake: each one placed is reserved on its worker now and comes back with `workerId`
   * set, to be stored already dispatched (one write, where a queued job takes an insert and
   * then an update). The others are left to a pass once stored. Jobs are taken in priority
   * order, as a pass would. If the store refuses them, `unplace` gives the slots back.
   *
   * A job that would wait comes back with the reason, to be stored with it, whether the queue
   * is empty or not: a refusal with this room holds with the less that earlier jobs leave, word
   * for word (planner.ts), so the pass after the store mostly finds that reason already there
   * instead of writing it (an UPDATE and an event per job, 100,000 of them for a long queue).
   * When it differs (a concurrency key's earlier job, say), the pass writes its own.
   *
   * The jobs are the caller's, set in place (`workerId`, `reason`): a copy of every job of a
   * batch would be alive until its commit, and promoted to the old space with it.
   */
  placeNew(jobs: readonly NewJob[]): void {
    if (!this.leading) return;
    const now = Date.now();
    const workers = this.snapshot();
    const active = this.activeKeys();
    const plan = planPass(
      jobs.filter((j) => j.runOn !== 'all' && !j.after?.length),
      workers,
      now,
      active,
    );
    const placedOn = new Map(this.mayOvertake(workers, active, now) ? plan.starts.map(({ job, workerId }) => [job.id, workerId]) : []);
    const waitsFor = new Map(plan.waits.map(({ job, reason }) => [job.id, reason]));
    for (const job of jobs) {
      const workerId = placedOn.get(job.id);
      if (workerId === undefined) {
        const reason = waitsFor.get(job.id);
        if (reason !== undefined) job.reason = reason;
        continue;
      }
      this.placed.set(job.id, { job: placedJob({ id: job.id, attempt: 1, concurrency: job.concurrency }, 'dispatched'), workerId });
      // Until the worker answers the start: see `dispatch`.
      this.starting.add(job.id);
      job.workerId = workerId;
    }
  }

  /**
   * Whether jobs placed now, before the queue, start where a pass over the queue and them would
   * start them: when the queue is empty, or when every job in it was left waiting by the last
   * pass with the workers and keys as they are now and no retry has come due (settled-pass.ts):
   * none of them would start, so they take no room from new ones. Otherwise a job placed now
   * could overtake one already waiting, and the new ones are left to the pass.
   */
  private mayOvertake(workers: readonly WorkerSnapshot[], active: ReadonlyMap<string, readonly string[]>, now: number): boolean {
    return this.queued.size === 0 || (this.fresh.length === 0 && freshOnly(this.settled, workersKey(workers, active), now));
  }

  /** The store refused jobs `placeNew` placed: their slots are free again. */
  unplace(jobs: readonly NewJob[]): void {
    for (const job of jobs) {
      if (!job.workerId) continue;
      this.placed.delete(job.id);
      this.starting.delete(job.id);
    }
    this.schedulePass();
  }

  /**
   * Takes jobs the store now holds: those `placeNew` placed are started on their worker, the
   * others queued, and a pass runs at once. Resolves, in the same order, when each job's fate
   * is known for now: started on a worker, failed to start, or left waiting (with a reason).
   */
  submit(jobs: readonly JobRecord[]): Promise<DispatchResult[]> {
    const placed = new Map<string, Promise<DispatchResult>>();
    for (const job of jobs) {
      if (job.state === 'dispatched')
        placed.set(
          job.id,
          this.whileStarting(job.id, () => this.startOn(job, job.workerId)),
        );
      else if (job.state === 'waiting') this.waits.add(job);
      else this.enqueue(queueEntry(job));
    }
    const started = this.pass();
    // A job still queued answers with the reason the pass gave it.
    const asRecord = (job: JobRecord, entry: QueueEntry | undefined): JobRecord => (entry === undefined || entry.reason === job.reason ? job : { ...job, reason: entry.reason });
    const answer = (job: JobRecord, result: Placing): DispatchResult => ('entry' in result ? { kind: result.kind, job: asRecord(job, result.entry) } : result);
    // Those left queued are answered now: a promise each (a batch's 500) would be alive until the last start is known.
    let waiting = false;
    const results = jobs.map((job): DispatchResult | Promise<DispatchResult> => {
      const known = placed.get(job.id) ?? started.get(job.id)?.then((result) => answer(job, result));
      if (known) waiting = true;
      return known ?? answer(job, { kind: 'queued', entry: this.queued.get(job.id) });
    });
    return waiting ? Promise.all(results) : Promise.resolve(results as DispatchResult[]);
  }

  /**
   * A worker reported an attempt's end, whose write is asked for but not yet committed: the
   * process is gone, so its slot on that worker is free now. A pass in this turn fills it, and
   * the dispatch it writes shares the end's commit; waiting for that commit first cost a
   * commit and a turn per job whenever jobs queue. attemptEnded follows once the end is stored.
   */
  attemptEnding(jobId: string, attempt: number, workerId: string): void {
    const placed = this.placed.get(jobId);
    // A late report of an earlier attempt (a replay, a retry on the same worker) frees nothing.
    if (!this.leading || placed?.workerId !== workerId || placed.job.attempt !== attempt) return;
    this.placed.delete(jobId);
    if (this.queued.size === 0 || this.passThisTurn || this.closed) return;
    this.passThisTurn = true;
    // After the other reports of the burst (their ends free slots too), before the writer's commit.
    queueMicrotask(() => {
      this.passThisTurn = false;
      if (!this.closed) this.pass();
    });
  }

  attemptEnded(jobId: string, workerId: string): void {
    if (!this.leading) return;
    if (this.placed.get(jobId)?.workerId === workerId) this.placed.delete(jobId);
    this.cancelling.delete(jobId);
    this.waits.ended(jobId);
    if (workerId === '') this.queued.delete(jobId); // stopped while queued
    this.schedulePass();
  }

  requeued(job: JobRecord): void {
    if (!this.leading) return;
    this.placed.delete(job.id);
    this.enqueue(queueEntry(job));
    this.schedulePass();
  }

  /**
   * A worker registered (again): its room may take queued jobs. With the jobs it reported, its
   * placed attempts are reconciled: one it does not know never reached it (the scheduler died
   * between recording the dispatch and hearing the worker's answer), so a `dispatched` one goes
   * back to the queue and a `running` one is lost (and retried if its policy says so).
   */
  workerUp(workerId: string, reported?: ReadonlySet<string>): void {
    if (!this.leading) return;
    if (reported) {
      for (const [jobId, { job, workerId: on }] of this.placed) {
        if (on !== workerId || this.starting.has(jobId) || reported.has(runId(jobId, job.attempt))) continue;
        void this.unknownToWorker(jobId, job.attempt, workerId);
      }
    }
    this.schedulePass();
  }

  private async unknownToWorker(jobId: string, attempt: number, workerId: string): Promise<void> {
    const log = { job_id: jobId, attempt, worker_id: workerId };
    try {
      // Asked once more: a start confirmed after the worker listed its jobs is known there now.
      const channel = this.registry.get(workerId)?.channel;
      if (!channel) return;
      const known = await channel.queryJob(runId(jobId, attempt), RECONCILE_QUERY_TIMEOUT_MS).then(
        (r) => r.status,
        (err: unknown) => {
          if (isServiceError(err) && err.code === GrpcStatus.NOT_FOUND) return undefined;
          throw err;
        },
      );
      if (known) {
        await this.applier.applyWorkerStatus(workerId, known);
        return;
      }
      const reason = `worker ${workerId} never received it (the scheduler restarted before the start was confirmed); waiting for a placement again`;
      const queued = await this.applier.unplace(jobId, attempt, workerId, reason);
      if (queued) {
        this.requeued(queued);
        return;
      }
      const error = `lost: worker ${workerId} registered again without this job (it was running there)`;
      await this.applier.apply(jobId, attempt, workerId, 'finish', { state: 'lost', error });
    } catch (err) {
      this.log.error({ ...log, err }, 'cannot reconcile a job the returning worker does not know');
    }
  }

  /** The worker stopped answering: every attempt placed there is `unknown` until it answers again or the window runs out. */
  workerSilent(workerId: string, reason: string): void {
    this.onEachPlaced(workerId, 'disconnect', { state: 'unknown', reason });
  }

  /** The worker stayed silent past the window: its attempts still `unknown` end `lost` (and are retried if their policy says so). */
  workerLost(workerId: string, error: string): void {
    this.onEachPlaced(workerId, 'lose', { state: 'lost', error });
  }

  private onEachPlaced(workerId: string, transition: 'disconnect' | 'lose', update: StatusUpdate): void {
    if (!this.leading) return;
    for (const [jobId, { job, workerId: on }] of this.placed) {
      if (on !== workerId) continue;
      this.applier.apply(jobId, job.attempt, workerId, transition, update).catch((err: unknown) => this.log.error({ job_id: jobId, err, transition }, 'cannot record job state'));
    }
  }

  /**
   * Shared store: another scheduler changed these jobs (created them, stopped them, retried
   * them…); the queue and the slot counts follow the stored rows, read in one query.
   */
  async sync(jobIds: readonly string[]): Promise<void> {
    if (!this.leading) return;
    for (const job of await this.store.getJobs(jobIds)) this.follow(job);
  }

  private follow(job: JobRecord): void {
    if (job.runOn === 'all') return;
    const jobId = job.id;
    const placed = this.placed.get(jobId);
    if (isFinal(job.state)) {
      this.queued.delete(jobId);
      // Ended elsewhere (stopped through another scheduler, maybe while waiting): the jobs waiting on it are judged.
      this.waits.ended(jobId);
      if (placed) this.attemptEnded(jobId, placed.workerId);
    } else if (job.state === 'waiting') {
      this.waits.add(job);
    } else if (job.state === 'queued') {
      // A job being placed here is still queued in the store until its dispatch commits.
      if (!placed && this.queued.get(jobId)?.attempt !== job.attempt) {
        this.enqueue(queueEntry(job));
        this.schedulePass();
      }
    } else if (!placed || placed.workerId !== job.workerId) {
      this.queued.delete(jobId);
      this.placed.set(jobId, { job: placedJob(job, job.state), workerId: job.workerId });
    }
  }

  /**
   * Shared store, on taking the lead: a job the old leader recorded as dispatched may never
   * have reached its worker. Each is asked about; one its worker does not know goes back to the queue.
   */
  verifyDispatched(): void {
    for (const [jobId, { job, workerId }] of this.placed) {
      if (job.state === 'dispatched' && !this.starting.has(jobId)) void this.unknownToWorker(jobId, job.attempt, workerId);
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.wake?.timer);
    this.wake = undefined;
  }

  private schedulePass(): void {
    if (this.passScheduled || this.closed) return;
    this.passScheduled = true;
    setImmediate(() => {
      this.passScheduled = false;
      if (!this.closed) this.pass();
    });
  }

  /** One synchronous pass over the queue: plans it, reserves the starts; returns the dispatches it started. */
  private pass(): Map<string, Promise<Placing>> {
    const started = new Map<string, Promise<Placing>>();
    // Most passes (one per burst of ended attempts) find nothing queued: no snapshot to take.
    if (this.queued.size === 0) {
      this.queue = [];
      this.fresh = [];
      return started;
    }
    const now = Date.now();
    const workers = this.snapshot();
    const active = this.activeKeys();
    const onlyFresh = freshOnly(this.settled, workersKey(workers, active), now);
    const plan = planPass(
      (onlyFresh ? [...new Set(this.fresh)] : this.queue).filter((job) => this.queued.get(job.id) === job),
      workers,
      now,
      active,
    );
    this.fresh = [];
    // Planning only the fresh jobs leaves the queue as it is (they are in it already; those started are stale entries now).
    if (!onlyFresh) this.queue = plan.waits.map((wait) => wait.job);
    for (const { job, workerId } of plan.starts) {
      // Reserve now, commit later: the count includes this job before anything is sent.
      this.queued.delete(job.id);
      this.placed.set(job.id, { job: placedJob(job, 'queued'), workerId });
      started.set(job.id, this.dispatch(job, workerId));
    }
    for (const { job, reason, retryAt } of plan.waits) {
      // A retry keeps the reason it was queued with, which says what ended and when the next attempt is due.
      if (retryAt !== undefined || job.reason === reason) continue;
      const before = job.reason;
      job.reason = reason;
      this.applier.setReason(job, reason).catch((err: unknown) => {
        // Not stored: the next pass that finds the same reason writes it again.
        if (job.reason === reason) job.reason = before;
        this.log.error({ job_id: job.id, err }, 'cannot record why a job waits');
      });
    }
    for (const { job, reason } of plan.skips) {
      this.queued.delete(job.id);
      this.applier
        .apply(job.id, job.attempt, '', 'skip', { state: 'skipped', reason, error: reason })
        .catch((err: unknown) => this.log.error({ job_id: job.id, err }, 'cannot record a skipped job'));
    }
    for (const { job, stop } of plan.cancels) {
      const fresh = stop.filter((id) => !this.cancelling.has(id));
      for (const id of fresh) this.cancelling.add(id);
      if (fresh.length > 0) this.cancelJobs?.(fresh, `job ${job.id} (concurrency key ${job.concurrency!.key}, cancel_in_progress)`);
    }
    this.settled = settle(this.settled, onlyFresh, workersKey(this.snapshot(), this.activeKeys()), plan.nextRetryAt);
    // Asked for on every pass: a timer can fire a moment before Date.now() reaches the job's
    // time; that pass leaves the job waiting (planning only fresh jobs, it does not even see
    // it) and must arm another, or on an otherwise idle cluster the job waits for ever.
    if (this.settled.nextRetryAt !== undefined) this.passWithin(this.settled.nextRetryAt - now);
    return started;
  }

  /** Per concurrency key, the jobs of the key placed (dispatched or running, by this scheduler's count). */
  private activeKeys(): Map<string, string[]> {
    return activeByKey(Array.from(this.placed.values(), (p) => p.job));
  }

  private snapshot(): WorkerSnapshot[] {
    const running = new Map<string, number>();
    for (const { workerId } of this.placed.values()) running.set(workerId, (running.get(workerId) ?? 0) + 1);
    return this.registry.list().map((w) => ({
      id: w.id,
      // Without a channel (known from the store, not registered since this scheduler started) a worker cannot be called.
      state: w.state !== 'up' ? w.state : !w.channel ? 'down' : w.channel.unreachable !== undefined ? 'unreachable' : 'up',
      labels: w.labels,
      capacity: w.capacity,
      running: running.get(w.id) ?? 0,
      draining: w.drainingBy !== '',
    }));
  }

  /** queued → dispatched in the store (only if still queued), then StartJob with the job as stored. */
  private dispatch(job: QueueEntry, workerId: string): Promise<Placing> {
    return this.whileStarting(job.id, async () => {
      const dispatched = await this.recordDispatch(job, workerId);
      return 'kind' in dispatched ? dispatched : await this.startOn(dispatched, workerId);
    });
  }

  /**
   * `run`, with the job counted as starting from its reservation to the worker's answer, not
   * only once the dispatch is stored: a worker registering in between must not have this job
   * judged unknown to it and queued a second time.
   */
  private async whileStarting<T>(jobId: string, run: () => Promise<T>): Promise<T> {
    this.starting.add(jobId);
    try {
      return await run();
    } finally {
      this.starting.delete(jobId);
    }
  }

  /** The job as now stored dispatched on `workerId`; or, when it cannot be, what became of it. */
  private async recordDispatch(job: QueueEntry, workerId: string): Promise<JobRecord | Placing> {
    try {
      const marked = await this.applier.dispatch(job, workerId);
      if (!marked) {
        this.placed.delete(job.id);
        return { kind: 'gone', entry: job };
      }
      return marked;
    } catch (err) {
      this.log.error({ job_id: job.id, attempt: job.attempt, worker_id: workerId, err }, 'cannot record a dispatch; the job stays queued');
      this.placed.delete(job.id);
      this.enqueue(job);
      this.passWithin(REFUSED_RETRY_MS);
      return { kind: 'queued', entry: job };
    }
  }

  /** StartJob for a job stored dispatched on `workerId`. */
  private async startOn(job: JobRecord, workerId: string): Promise<DispatchResult> {
    const attempt = { job_id: job.id, attempt: job.attempt, worker_id: workerId };
    const channel = this.registry.get(workerId)?.channel;
    try {
      if (!channel) throw new BatonError('WORKER_DOWN', `worker ${workerId} is not connected`);
      await channel.startJob(startRequest(job, job.attempt), START_TIMEOUT_MS);
      // Debug: the job's state lines already say where it went (dispatched) and that it runs.
      this.log.debug(attempt, 'job dispatched');
      return { kind: 'dispatched', job };
    } catch (err) {
      if (isServiceError(err) && err.code === GrpcStatus.RESOURCE_EXHAUSTED) {
        return this.backToQueue(job, workerId, `worker ${workerId} refused it for lack of room (${err.details}); waiting for a free slot`);
      }
      // A placed job whose worker could not even be connected to never reached it: another
      // worker may take it. (A pinned job answers the caller instead; a call cut off after it was
      // sent is not retried here, since the worker may have started the job.)
      if (job.pinnedWorker === '' && neverConnected(err)) {
        return this.backToQueue(job, workerId, `worker ${workerId} could not be reached (${err.details.split('.')[0]}); waiting for another placement`);
      }
      const error = err instanceof BatonError ? err : fromWorkerCallError(err, channel?.who ?? `worker ${workerId}`);
      await this.applier
        .apply(job.id, job.attempt, workerId, 'finish', { state: 'failed', error: error.message, errorCode: error.code })
        .catch((e: unknown) => this.log.error({ ...attempt, err: e }, 'cannot record job state'));
      return { kind: 'failed', job: { ...job, state: 'failed', error: error.message }, error };
    }
  }

  /** The job never started on the worker (no room there after all, or no connection): back to the queue, not failed. */
  private async backToQueue(job: JobRecord, workerId: string, reason: string): Promise<DispatchResult> {
    const queued = await this.applier.unplace(job.id, job.attempt, workerId, reason).catch((err: unknown) => {
      this.log.error({ job_id: job.id, err }, 'cannot put a refused job back in the queue');
      return undefined;
    });
    if (!queued) return { kind: 'gone', job };
    this.placed.delete(job.id);
    this.enqueue(queueEntry(queued));
    this.passWithin(REFUSED_RETRY_MS);
    return { kind: 'queued', job: queued };
  }

  /**
   * Sorted insert; a stale entry of the same job takes the new one in its place, so no job is
   * ever in `queue` twice. The pass that follows every enqueue plans the job (and arms the
   * timer of a retry not yet due).
   */
  private enqueue(job: QueueEntry): void {
    this.queued.set(job.id, job);
    this.fresh.push(job);
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (queueOrder(this.queue[mid]!, job) < 0) lo = mid + 1;
      else hi = mid;
    }
    if (this.queue[lo]?.id === job.id) this.queue[lo] = job;
    else this.queue.splice(lo, 0, job);
  }

  /** A pass in `delayMs` at the latest. */
  private passWithin(delayMs: number): void {
    if (this.closed) return;
    const at = Date.now() + Math.max(0, delayMs);
    if (this.wake && this.wake.at <= at) return;
    clearTimeout(this.wake?.timer);
    const timer = setTimeout(() => {
      this.wake = undefined;
      this.schedulePass();
    }, at - Date.now());
    timer.unref();
    this.wake = { timer, at };
  }
}

/**
 * Why no worker could take this new job's start (see tooLargeToStart), or undefined. Only a
 * body limit over the 16 MiB a worker accepts lets one through the HTTP API; checked at
 * submit, such a job is refused before it is stored instead of failing at dispatch.
 */
export function startTooLarge(job: NewJob): string | undefined {
  // Bounded from the job's own fields (stdin by its byte count): the request is made only for a job near the limit (a submission's hot path).
  return tooLargeFrom(
    startFields(job, 1, (stdin) => ({ length: base64Bytes(stdin) })),
    () => startRequest(job, 1),
  );
}

/** What the worker needs to start attempt `attempt` of the job. */
function startRequest(job: StartSource, attempt: number): StartJobRequest {
  // The sandbox requests (resources, network, isolate) go through as the caller gave them; the worker checks them.
  return StartJobRequest.fromPartial({ ...job.sandbox, ...startFields(job, attempt, (stdin) => Buffer.from(stdin, 'base64')), timeoutMs: job.timeoutMs ?? 0 });
}

/** A new job or a stored one: what a start is made of. */
type StartSource = Pick<NewJob, 'id' | 'command' | 'path' | 'args' | 'env' | 'cwd' | 'sandbox' | 'stdin' | 'timeoutMs'>;

/** The fields of a start that its size bound reads, with stdin as `stdin` makes it of the job's base64 (its bytes, or only their count). */
function startFields<S>(job: StartSource, attempt: number, stdin: (base64: string) => S) {
  return {
    jobId: runId(job.id, attempt),
    command: job.command,
    path: job.path,
    args: job.args,
    env: job.env,
    cwd: job.cwd,
    network: job.sandbox.network ?? '',
    stdin: stdin(job.stdin ?? ''),
  };
}
