import { PassThrough, Readable } from 'node:stream';
import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { BatonError, echo, fromWorkerCallError, isErrorCode } from '../common/errors.js';
import { uuidv7 } from '../common/ids.js';
import type { Logger } from '../common/logger.js';
import type { JobStatus } from '../gen/baton/v1/common.js';
import { type OutputStreamName, runsStopped, StreamRuns } from '../common/output-runs.js';
import { OutputStream, type StreamJobResponse } from '../gen/baton/v1/worker.js';
import { startTooLarge, type DispatchResult, type Dispatcher } from './dispatcher.js';
import type { ConcurrencyRule } from './concurrency.js';
import { BadReference, resolveBatch, type AfterCondition } from './dependencies.js';
import type { EventBus } from './events.js';
import { isFinal, reportTransition } from './job-state.js';
import { hasLabels } from './placement.js';
import { parseRunId, runId, updateFromWorker, type JobStatusApplier } from './job-status.js';
import type { Registry } from './registry.js';
import { DEFAULT_RETRY, type RetryPolicy } from './retry-policy.js';
import { IdempotencyKeyTaken, type AttemptRecord, type JobFilter, type JobRecord, type JobStore, type NewJob, type SandboxRequest } from './store/job-store.js';
import type { WorkerChannel } from './worker-channel.js';
import type { OutputKeeper } from './output-keeper.js';
import { OutputHubs, STREAM_COMMIT_MS } from './output-hub.js';
import { type ByteRange, type PickedRange, pickRange } from './http/range.js';
import { keptStreamRuns, readKeptStream, wireStream } from './output-streams.js';
import { findTailStart } from './output-tail.js';

const QUERY_TIMEOUT_MS = 5_000;
/** When the caller names no grace period the worker uses its own; assume up to this for the deadline. */
const ASSUMED_DEFAULT_GRACE_MS = 10_000;
const STOP_DEADLINE_SLACK_MS = 5_000;
/** A stop that came before the job's start waits this long for the start to be answered (its timeout is 5 s). */
const START_ANSWER_WAIT_MS = 10_000;
/** A follower answers a submission once the leader has started (or failed to start) it, or after this long as it stands then. */
const LEADER_PLACEMENT_WAIT_MS = 3_000;
/** What a caller refused for a full queue is told to wait. */
const QUEUE_FULL_RETRY_AFTER_S = 5;

export interface JobSpec {
  /** Pins the job to this worker; absent: placement chooses. */
  workerId?: string;
  command: string;
  path: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** Token name of the caller ("anonymous" without tokens). */
  submittedBy: string;
  /** Labels a worker must carry (every one). */
  labels?: Record<string, string>;
  /** Higher first; default 0. */
  priority?: number;
  retry?: RetryPolicy;
  /** Sandbox requests, passed to the worker as they are (it checks them against its limits). */
  sandbox?: JobSandboxRequest;
  /** Wall-clock limit the worker enforces; absent or 0: none. */
  timeoutMs?: number;
  /** 'all': one copy on every worker that is up, not draining and has the labels, under a parent job. */
  runOn?: 'all';
  /** At most `limit` jobs of the key dispatched or running at once (concurrency.ts). */
  concurrency?: ConcurrencyRule;
  /** Ids of the jobs this one waits for; in a batch, "#i" names the batch's job i. */
  after?: string[];
  afterCondition?: AfterCondition;
  /** The request's Idempotency-Key and the hash of what it asked for (see `submit`). */
  idempotency?: { key: string; requestHash: string };
  /** A schedule's run: for its tick (null when triggered by hand). A second job for one tick fails with `TickTaken`. */
  schedule?: { name: string; scheduledFor: number | null };
  /** A display name. */
  name?: string;
  /** Base64 bytes each attempt's process reads on stdin. */
  stdin?: string;
}

export type JobSandboxRequest = SandboxRequest;

/** What a reader of a job's output asks for. */
export interface OutputRequest {
  /** Until the attempt ends, instead of what is there now. */
  follow: boolean;
  /** Default: the live attempt. */
  attempt?: number;
  /** The first byte to send (a reader resuming a stream that broke off); default 0. */
  offset?: number;
  /** Start at the last this many lines instead (not with `offset`). */
  tail?: number;
  /** One stream only, `offset` and `tail` counted in it; default both, interleaved. */
  stream?: OutputStreamName;
  /** Only these bytes (of `stream` when given), as they are now (not with `offset`, `tail` or `follow`): an HTTP `Range`. */
  range?: ByteRange;
}

/** A reader's stream, with the attempt it is of and the byte it starts at. */
export interface OutputAnswer {
  body: Readable;
  attempt: number;
  start: number;
  /** The bytes a `range` picked, and the output's size then. */
  picked?: PickedRange;
}

export interface JobDetail {
  job: JobRecord;
  attempts: AttemptRecord[];
}

/** Job operations behind the HTTP API: the store first, then the worker, errors mapped for the caller. */
export class JobService {
  /** Ended attempts' output kept by the scheduler; set once it exists. */
  keeper: OutputKeeper | undefined;
  /** Live followers of each attempt, fed by one worker stream per attempt. */
  readonly hubs: OutputHubs;

  constructor(
    private readonly store: JobStore,
    private readonly registry: Registry,
    private readonly applier: JobStatusApplier,
    private readonly dispatcher: Dispatcher,
    bus: EventBus,
    private readonly maxQueued: number,
    private readonly log: Logger,
  ) {
    this.hubs = new OutputHubs(log);
    // One listener for every /wait: each waiter is found by its job id.
    bus.on('job', (job) => this.jobChanged(job.id));
    dispatcher.cancelJobs = (jobIds, by) => {
      for (const jobId of jobIds) {
        this.stop(jobId, undefined, 0, by).catch((err: unknown) => this.log.warn({ job_id: jobId, err, by }, 'cannot stop a job a cancel_in_progress asked to stop'));
      }
    };
  }

  /**
   * The planned rows with each job's `after` resolved: batch references to ids, every id a job
   * that exists (BAD_REQUEST naming the reference otherwise, or a cycle among the batch's jobs).
   */
  private async withDependencies(specs: readonly JobSpec[], planned: NewJob[][]): Promise<NewJob[][]> {
    if (!specs.some((s) => s.after?.length)) return planned;
    let resolved: string[][];
    try {
      resolved = resolveBatch(
        specs.map((s) => s.after ?? []),
        planned.map(([head]) => head!.id),
      );
    } catch (err) {
      if (err instanceof BadReference) throw new BatonError('BAD_REQUEST', err.message);
      throw err;
    }
    const inBatch = new Set(planned.map(([head]) => head!.id));
    for (const [i, spec] of specs.entries()) {
      const where = specs.length > 1 ? `jobs[${i}].` : '';
      if (spec.runOn === 'all' && resolved[i]!.length > 0) throw new BatonError('BAD_REQUEST', `${where}after: a run_on "all" job cannot wait for others; submit it without after`);
      for (const [k, id] of resolved[i]!.entries()) {
        if (!inBatch.has(id) && !(await this.store.getJob(id))) throw new BatonError('BAD_REQUEST', `${where}after[${k}]: job "${echo(id)}" not found`);
      }
    }
    return planned.map((rows, i) => (resolved[i]!.length === 0 ? rows : [{ ...rows[0]!, after: resolved[i]!, afterCondition: specs[i]!.afterCondition ?? 'succeeded' }]));
  }

  /** Wakes the calls waiting on this job (they read it again). Shared store: also for changes other schedulers made. */
  jobChanged(jobId: string): void {
    for (const wake of this.waiters.get(jobId) ?? []) wake(jobId);
  }

  /** Wake-ups of `wait` calls, by job id. */
  private readonly waiters = new Map<string, Set<(jobId: string) => void>>();

  /**
   * Records the job (queued, or dispatched when placed at once) before any worker hears of it,
   * so an accepted job is never lost, then hands it to the dispatcher. Answers once it is
   * started, or waits in the queue (with the reason), or failed to start (that error is
   * thrown, as the worker gave it).
   */
  async start(spec: JobSpec): Promise<JobRecord> {
    return (await this.submit(spec)).job;
  }

  /**
   * `start`, with the Idempotency-Key: a key this submitter used before answers with the job
   * it made (`created` false) when the request is the same, and IDEMPOTENCY_KEY_REUSED when it is not.
   */
  async submit(spec: JobSpec): Promise<{ job: JobRecord; created: boolean }> {
    if (spec.idempotency) {
      const earlier = await this.store.findByIdempotencyKey(spec.submittedBy, spec.idempotency.key);
      if (earlier) return { job: this.replayed(earlier, spec.idempotency.requestHash), created: false };
    }
    let results: DispatchResult[];
    try {
      results = await this.create([spec]);
    } catch (err) {
      if (!(err instanceof IdempotencyKeyTaken) || !spec.idempotency) throw err;
      // A request with the same key got there first, in the moment between the look-up and the insert.
      const earlier = await this.store.findByIdempotencyKey(spec.submittedBy, spec.idempotency.key);
      if (!earlier) throw err;
      return { job: this.replayed(earlier, spec.idempotency.requestHash), created: false };
    }
    const [result] = results;
    if (result!.kind === 'failed') throw result!.error;
    return { job: result!.job, created: true };
  }

  /** Many jobs, all recorded in one transaction (or none), then dispatched; in the order given. */
  async submitBatch(specs: readonly JobSpec[]): Promise<JobRecord[]> {
    return (await this.create(specs)).map((r) => r.job);
  }

  private replayed(earlier: JobRecord, requestHash: string): JobRecord {
    if (earlier.requestHash !== requestHash) {
      throw new BatonError('IDEMPOTENCY_KEY_REUSED', `the Idempotency-Key was first used with a different request (it made job ${earlier.id}); use a new key for a new request`);
    }
    return earlier;
  }

  /** Records every job of `specs` in one transaction, then queues them; one result per spec (a run_on-all parent for its copies). */
  private async create(specs: readonly JobSpec[]): Promise<DispatchResult[]> {
    const now = Date.now();
    const planned = await this.withDependencies(
      specs,
      specs.map((spec, i) => this.plan(spec, now, specs.length > 1 ? `jobs[${i}]: ` : '')),
    );
    planned.forEach(([head], i) => {
      // Copies of a run_on-all parent carry its command, arguments and environment: the head speaks for them.
      const tooLarge = startTooLarge(head!);
      if (tooLarge) throw new BatonError('PAYLOAD_TOO_LARGE', `${specs.length > 1 ? `jobs[${i}]: ` : ''}${tooLarge}`);
    });
    const runnable = planned.reduce((n, p) => n + p.length - (p[0]!.runOn === 'all' ? 1 : 0), 0);
    const queuedNow = this.dispatcher.leading ? this.dispatcher.queuedCount : await this.store.countQueued();
    if (queuedNow + runnable > this.maxQueued) {
      throw new BatonError('QUEUE_FULL', `the queue is full (${this.maxQueued} jobs waiting); try again later`, QUEUE_FULL_RETRY_AFTER_S);
    }
    // The leader places what it can before storing: those jobs are stored dispatched.
    const jobs = planned.flat();
    this.dispatcher.placeNew(jobs);
    let created: JobRecord[];
    try {
      created = await this.applier.create(jobs);
    } catch (err) {
      this.dispatcher.unplace(jobs);
      throw err;
    }
    const toRun = created.filter((j) => j.runOn !== 'all');
    // A follower of a shared store leaves placing to the leader (it hears of the jobs from the stored events).
    const dispatched = this.dispatcher.leading ? await this.dispatcher.submit(toRun) : await this.leaderPlaced(toRun);
    const results = new Map(dispatched.map((r) => [r.job.id, r]));
    const byId = new Map(created.map((j) => [j.id, j]));
    return planned.map(([head]) => results.get(head!.id) ?? { kind: 'queued', job: byId.get(head!.id)! });
  }

  /**
   * Shared store, on a follower: the jobs as the leader's placement left them, or still queued
   * after a moment. Read together, one query per wake-up for those not yet decided: a batch's
   * jobs read one by one on every change took the whole pool for seconds.
   */
  private async leaderPlaced(jobs: readonly JobRecord[]): Promise<DispatchResult[]> {
    // Dispatched is not yet decided: the worker may still refuse the start (the job then fails, or is retried).
    const decided = (was: JobRecord, j: JobRecord): boolean => j.attempt > was.attempt || (j.state !== 'queued' && j.state !== 'dispatched');
    const latest = new Map(jobs.map((j) => [j.id, j]));
    const undecided = new Map(latest);
    // Read first all of them, then those a change was heard of since the last read.
    let changed = new Set(latest.keys());
    let wake = (): void => {};
    let ended = false;
    const unlisten = this.listen([...latest.keys()], (id) => {
      changed.add(id);
      wake();
    });
    const timer = setTimeout(() => {
      ended = true;
      wake();
    }, LEADER_PLACEMENT_WAIT_MS);
    try {
      while (undecided.size > 0) {
        const woken = new Promise<void>((resolve) => (wake = resolve));
        const ids = [...changed].filter((id) => undecided.has(id));
        changed = new Set();
        for (const j of await this.store.getJobs(ids)) latest.set(j.id, j);
        for (const id of ids) if (decided(undecided.get(id)!, latest.get(id)!)) undecided.delete(id);
        if (ended) break;
        if (undecided.size > 0) await woken;
      }
    } finally {
      clearTimeout(timer);
      unlisten();
    }
    return jobs.map((was) => placedResult(was, latest.get(was.id)!));
  }

  /**
   * A job that names its worker is refused at once when that worker cannot take it: unknown
   * (WORKER_NOT_FOUND), down, deregistered or draining (WORKER_DOWN), or not to be dialled
   * (WORKER_UNREACHABLE, as a start that failed to connect), rather than queued for a worker
   * that may never come back. One that is up but full is queued: a slot frees soon.
   */
  private checkNamedWorker(workerId: string, where: string): void {
    const w = this.registry.get(workerId);
    if (!w) throw new BatonError('WORKER_NOT_FOUND', `${where}worker "${echo(workerId)}" not found`);
    const why = w.state !== 'up' ? `is ${w.state}` : w.drainingBy !== '' ? 'is draining' : undefined;
    if (why) throw new BatonError('WORKER_DOWN', `${where}worker "${w.id}" ${why} and takes no jobs; name another worker, or none to let the scheduler choose`);
    const unreachable = w.channel?.unreachable;
    if (unreachable !== undefined) throw new BatonError('WORKER_UNREACHABLE', `${where}worker ${w.id} is unreachable: ${unreachable}`);
  }

  /** The rows one spec makes: the job, or a run_on-all parent followed by its copies. */
  private plan(spec: JobSpec, now: number, where: string): NewJob[] {
    if (spec.workerId !== undefined) this.checkNamedWorker(spec.workerId, where);
    const job: NewJob = {
      id: uuidv7(now),
      command: spec.command,
      path: spec.path,
      args: spec.args,
      env: spec.env,
      cwd: spec.cwd,
      createdAt: now,
      submittedBy: spec.submittedBy,
      labels: spec.labels ?? {},
      priority: spec.priority ?? 0,
      retry: spec.retry ?? DEFAULT_RETRY,
      pinnedWorker: spec.workerId ?? '',
      // Set by placement (Dispatcher.placeNew) before the job is stored.
      workerId: '',
      reason: '',
      sandbox: spec.sandbox ?? {},
      timeoutMs: spec.timeoutMs ?? 0,
      idempotencyKey: spec.idempotency?.key ?? '',
      requestHash: spec.idempotency?.requestHash ?? '',
      schedule: spec.schedule?.name ?? '',
      scheduledFor: spec.schedule?.scheduledFor ?? null,
      concurrency: spec.concurrency ?? null,
      name: spec.name ?? '',
      stdin: spec.stdin ?? '',
    };
    if (spec.runOn !== 'all') return [job];
    if (spec.workerId !== undefined) throw new BatonError('BAD_REQUEST', `${where}run_on "all" and worker_id exclude each other`);
    const targets = this.registry
      .list()
      .filter((w) => w.state === 'up' && w.channel !== undefined && w.channel.unreachable === undefined && w.drainingBy === '' && hasLabels(w, job.labels));
    if (targets.length === 0) {
      const labels = Object.entries(job.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      throw new BatonError('NO_WORKER', `${where}run_on "all": no worker is up and not draining${labels ? ` with labels ${labels}` : ''}`);
    }
    const children: NewJob[] = targets.map((w) => ({
      ...job,
      id: uuidv7(now),
      pinnedWorker: w.id,
      parentId: job.id,
      idempotencyKey: '',
      requestHash: '',
      // The parent is the schedule's run (and holds the tick); its copies are not.
      schedule: '',
      scheduledFor: null,
    }));
    return [{ ...job, runOn: 'all', children: children.map((c) => c.id) }, ...children];
  }

  /**
   * Resolves when the job is final (`done`), or with its state when `timeoutMs` passes or
   * `signal` aborts first. JOB_NOT_FOUND for an unknown job.
   */
  async wait(jobId: string, timeoutMs: number, signal?: AbortSignal): Promise<{ done: boolean; detail: JobDetail }> {
    const detail = await this.waitFor(jobId, timeoutMs, (job) => isFinal(job.state), signal);
    return { done: isFinal(detail.job.state), detail };
  }

  /** Reads the job each time it changes until `until` holds, `timeoutMs` passes or `signal` aborts; the last read. */
  private async waitFor(jobId: string, timeoutMs: number, until: (job: JobRecord) => boolean, signal?: AbortSignal): Promise<JobDetail> {
    let wake = (): void => {};
    let ended = false;
    const end = (): void => {
      ended = true;
      wake();
    };
    // Listen before reading, so a change between the read and the listening is not missed.
    const unlisten = this.listen([jobId], () => wake());
    const timer = setTimeout(end, timeoutMs);
    signal?.addEventListener('abort', end);
    try {
      for (;;) {
        const woken = new Promise<void>((resolve) => (wake = resolve));
        const detail = await this.find(jobId);
        if (ended || until(detail.job)) return detail;
        await woken;
      }
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', end);
      unlisten();
    }
  }

  /** Calls `waker` with the job's id on every change of these jobs until the returned function is called. */
  private listen(jobIds: readonly string[], waker: (jobId: string) => void): () => void {
    for (const id of jobIds) {
      let waiting = this.waiters.get(id);
      if (!waiting) this.waiters.set(id, (waiting = new Set()));
      waiting.add(waker);
    }
    return () => {
      for (const id of jobIds) {
        const waiting = this.waiters.get(id);
        waiting?.delete(waker);
        if (waiting?.size === 0) this.waiters.delete(id);
      }
    };
  }

  /** `by` (the caller's token name) is recorded as `stopped_by` once the worker has taken the stop. */
  async stop(jobId: string, workerId: string | undefined, graceMs: number, by: string): Promise<JobDetail> {
    return this.stopOnce(jobId, workerId, graceMs, by, true);
  }

  /** `again`: a stop that reached the worker before the job's start may wait for the start and try once more. */
  private async stopOnce(jobId: string, workerId: string | undefined, graceMs: number, by: string, again: boolean): Promise<JobDetail> {
    const { job } = await this.find(jobId, workerId);
    if (isFinal(job.state)) throw new BatonError('WRONG_STATE', `job ${jobId} already ended (${job.state})`);
    if (job.runOn === 'all') return this.stopParent(job, graceMs, by);
    if (job.state === 'queued' || job.state === 'waiting') {
      // On no worker: the store's check is enough (a dispatch that got there first makes this a no-op, and the stop goes to the worker below).
      if (await this.applier.apply(jobId, job.attempt, '', 'stop', { state: 'stopped', error: 'stopped before it started' })) {
        await this.recordStopper(jobId, by);
        return this.find(jobId, workerId);
      }
      return this.stopOnWorker((await this.find(jobId, workerId)).job, workerId, graceMs, by, again);
    }
    return this.stopOnWorker(job, workerId, graceMs, by, again);
  }

  private async stopOnWorker(job: JobRecord, workerId: string | undefined, graceMs: number, by: string, again: boolean): Promise<JobDetail> {
    const jobId = job.id;
    if (isFinal(job.state)) throw new BatonError('WRONG_STATE', `job ${jobId} already ended (${job.state})`);
    const channel = this.channelOf(job.workerId);
    const deadline = (graceMs || ASSUMED_DEFAULT_GRACE_MS) + STOP_DEADLINE_SLACK_MS;
    const res = await channel.stopJob(runId(jobId, job.attempt), graceMs, deadline).catch((err: unknown) => {
      const error = fromWorkerCallError(err, channel.who);
      if (again && job.state === 'dispatched' && error.code === 'JOB_NOT_FOUND') return undefined;
      throw error;
    });
    if (res === undefined) {
      // Stored dispatched, but its start had not reached the worker (it is sent after the
      // store's write, and checked there asynchronously): once the job moves on (running, or
      // its start refused), the stop goes where it is then.
      await this.waitFor(jobId, START_ANSWER_WAIT_MS, (now) => now.attempt !== job.attempt || now.state !== 'dispatched');
      return this.stopOnce(jobId, workerId, graceMs, by, false);
    }
    await this.recordStopper(jobId, by);
    await this.applyReported(job.workerId, res.status);
    return this.find(jobId, workerId);
  }

  /** Stops every live copy of a run_on-all job; the parent's state follows theirs. */
  private async stopParent(parent: JobRecord, graceMs: number, by: string): Promise<JobDetail> {
    await this.recordStopper(parent.id, by);
    const failures: string[] = [];
    await Promise.all(
      parent.children.map((id) =>
        this.stop(id, undefined, graceMs, by).catch((err: unknown) => {
          // A copy that ended meanwhile is already where the stop would take it.
          if (!(err instanceof BatonError && err.code === 'WRONG_STATE')) failures.push(`${id}: ${(err as Error).message}`);
        }),
      ),
    );
    if (failures.length > 0) this.log.warn({ job_id: parent.id, failures }, 'some copies of a run_on-all job could not be stopped');
    return this.find(parent.id);
  }

  private recordStopper(jobId: string, by: string): Promise<void> {
    return this.applier.setStoppedBy(jobId, by);
  }

  /** Fresh from the worker while the job is live; a finished job's record is final and needs no call. */
  async query(jobId: string, workerId: string | undefined): Promise<JobDetail> {
    const found = await this.find(jobId, workerId);
    // Queued: on no worker yet; unknown: its worker is not answering.
    if (isFinal(found.job.state) || found.job.state === 'queued' || found.job.state === 'unknown') return found;
    const channel = this.channelOf(found.job.workerId);
    const res = await channel.queryJob(runId(jobId, found.job.attempt), QUERY_TIMEOUT_MS).catch((err: unknown) => {
      throw fromWorkerCallError(err, channel.who);
    });
    await this.applyReported(found.job.workerId, res.status);
    // Always read again: even when this report changed nothing, another may have meanwhile.
    return this.find(jobId, workerId);
  }

  /** `workerId`, when given, must be the job's worker: the original API names both. */
  async find(jobId: string, workerId?: string): Promise<JobDetail> {
    const found = await this.store.getJob(jobId);
    if (!found) throw new BatonError('JOB_NOT_FOUND', `job "${echo(jobId)}" not found`);
    if (workerId !== undefined && found.job.workerId !== workerId) throw new BatonError('JOB_NOT_FOUND', `job "${echo(jobId)}" not found on worker "${echo(workerId)}"`);
    return found;
  }

  list(filter: JobFilter): Promise<{ jobs: JobRecord[]; nextCursor: string | null }> {
    return this.store.listJobs(filter);
  }

  /**
   * The job's output from its first byte, from `offset`, or from its last `tail` lines
   * (following it live when `follow`). Resolves once the worker has sent something, ended, or
   * stayed quiet for a moment, so a worker's refusal still becomes a proper HTTP error.
   * Destroying the returned stream cancels the gRPC call. `attempt` names an earlier try;
   * default: the live one; the answer says which it is and the byte it starts at, for a reader
   * to pin when it resumes. An ended attempt's output is read from the store once kept there
   * (output-keeper.ts), else from its worker.
   */
  async output(jobId: string, workerId: string | undefined, want: OutputRequest): Promise<OutputAnswer> {
    const { job, attempts } = await this.find(jobId, workerId);
    const number = want.attempt ?? job.attempt;
    const follow = want.follow;
    if (number > job.attempt) throw new BatonError('WRONG_STATE', `job ${jobId} has no attempt ${number} (it is on attempt ${job.attempt})`);
    const ended = number < job.attempt || isFinal(job.state);
    const kept = ended ? await this.keeper?.kept(jobId, number) : undefined;
    if (kept?.prunedAt != null) {
      throw new BatonError(
        'OUTPUT_PRUNED',
        `the output of job ${jobId} attempt ${number} (${kept.bytes} bytes) was deleted at ${new Date(kept.prunedAt).toISOString()}: ${kept.prunedReason}`,
      );
    }
    if (kept?.complete && this.keeper) {
      const store = this.keeper.store;
      const one = want.stream && (await keptStreamRuns(store, jobId, number, want.stream));
      const size = one ? one.streamBytes : kept.bytes;
      const read = one ? (o: number, l: number) => readKeptStream(store, jobId, number, one, o, l) : (o: number, l: number) => store.readOutput(jobId, number, o, l);
      if (want.range) {
        const picked = pickRange(want.range, size);
        return { body: this.keeper.read(jobId, number, picked.start, picked.end, one ? read : undefined), attempt: number, start: picked.start, picked };
      }
      const start = want.tail !== undefined ? await findTailStart(size, want.tail, read) : (want.offset ?? 0);
      const from = Math.min(start, size);
      return { body: this.keeper.read(jobId, number, from, size, one ? read : undefined), attempt: number, start: from };
    }
    const runOn = number === job.attempt ? job.workerId : (attempts.find((a) => a.number === number)?.workerId ?? '');
    if (runOn === '') throw new BatonError('WRONG_STATE', `job ${jobId} is queued and has no output yet${job.reason ? ` (${job.reason})` : ''}`);
    const channel = this.channelOf(runOn);
    const run = runId(jobId, number);
    const stream = wireStream(want.stream);
    let start = want.offset ?? 0;
    // Not followed, a tail is the last lines as they were when measured: bytes written since would make it longer.
    let end = Number.POSITIVE_INFINITY;
    let picked: PickedRange | undefined;
    if (want.tail !== undefined || want.range !== undefined) {
      const size = await (want.stream ? this.liveStreamBytes(channel, run, want.stream) : this.liveOutputBytes(channel, run));
      if (want.range !== undefined) {
        picked = pickRange(want.range, size);
        ({ start, end } = picked);
      } else if (want.tail !== undefined) {
        start = await findTailStart(size, want.tail, (o, l) => channel.readRange(run, o, l, stream));
        if (!follow) end = size;
      }
    }
    if (start >= end) return { body: Readable.from([]), attempt: number, start };
    if (follow && end === Number.POSITIVE_INFINITY) return { body: await this.hubs.follow(channel, run, start, stream), attempt: number, start };
    let at = start;
    const call = channel.streamJob(run, follow, start, stream);
    const out = new PassThrough();
    out.on('close', () => call.cancel());
    return new Promise((resolve, reject) => {
      let committed = false;
      const commit = (): void => {
        if (committed) return;
        committed = true;
        clearTimeout(timer);
        resolve({ body: out, attempt: number, start, ...(picked && { picked }) });
      };
      const timer = setTimeout(commit, STREAM_COMMIT_MS);
      call.on('data', (msg: StreamJobResponse) => {
        const data = at + msg.data.byteLength > end ? msg.data.subarray(0, Math.max(0, end - at)) : msg.data;
        at += data.byteLength;
        if (at >= end) {
          out.end(data);
          call.cancel();
          commit();
          return;
        }
        if (!out.write(data)) {
          call.pause();
          out.once('drain', () => call.resume());
        }
        commit();
      });
      call.on('end', () => {
        out.end();
        commit();
      });
      call.on('error', (err: ServiceError) => {
        if (err.code === GrpcStatus.CANCELLED && (out.destroyed || at >= end)) return; // the reader left, or the tail was whole
        if (!committed) {
          committed = true;
          clearTimeout(timer);
          out.destroy();
          reject(fromWorkerCallError(err, channel.who));
          return;
        }
        this.log.warn({ job_id: jobId, worker_id: runOn, error: err.details }, 'output stream broke off');
        // Mapped, so a break before the HTTP headers went out still answers 502/503/504, not 500.
        out.destroy(fromWorkerCallError(err, channel.who));
      });
    });
  }

  /** Bytes of a run's output on its worker now. */
  private async liveOutputBytes(channel: WorkerChannel, run: string): Promise<number> {
    const res = await channel.queryJob(run, QUERY_TIMEOUT_MS).catch((err: unknown) => {
      throw fromWorkerCallError(err, channel.who);
    });
    return res.status?.outputBytes ?? 0;
  }

  /** Bytes of one stream of a run's output a reader can have now, from the runs on its worker (a few bytes per switch of stream). */
  private async liveStreamBytes(channel: WorkerChannel, run: string, stream: OutputStreamName): Promise<number> {
    const runs = new StreamRuns(stream);
    runs.push(await channel.readRange(run, 0, Number.POSITIVE_INFINITY, OutputStream.OUTPUT_STREAM_RUNS));
    if (runs.stopped) throw runsStopped(`run ${run}`);
    return runs.streamBytes;
  }

  private async applyReported(workerId: string, status: JobStatus | undefined): Promise<boolean> {
    const update = status && updateFromWorker(status);
    const transition = update && reportTransition(update.state);
    if (!update || !transition) return false;
    const { jobId, attempt } = parseRunId(status.jobId);
    return this.applier.apply(jobId, attempt, workerId, transition, update);
  }

  /** For existing jobs: a worker marked down may still answer, so only a missing channel refuses. */
  private channelOf(workerId: string): WorkerChannel {
    const w = this.registry.get(workerId);
    if (w?.channel) return w.channel;
    const ago = w ? ` (last heartbeat ${Math.round((Date.now() - w.lastHeartbeatAt) / 1000)}s ago)` : '';
    throw new BatonError('WORKER_DOWN', `worker ${workerId} is not connected${ago}`);
  }
}

/** What a follower answers for a job it stored, from the row the leader's placement left. */
function placedResult(was: JobRecord, now: JobRecord): DispatchResult {
  if (now.state === 'queued' && now.attempt === was.attempt) return { kind: 'queued', job: now };
  // A start the worker refused is stored with its error's code: the answer the leader gave, status and words.
  // (A job failed without one did start, and failed running.)
  const refused = now.state === 'failed' || now.attempt > was.attempt;
  if (refused && isErrorCode(now.errorCode)) return { kind: 'failed', job: now, error: new BatonError(now.errorCode, now.error) };
  return { kind: 'dispatched', job: now };
}
