import type { ConcurrencyRule } from '../concurrency.js';
import { waitReason, type AfterCondition } from '../dependencies.js';
import type { JobStateName, TransitionName } from '../job-state.js';
import type { RetryPolicy } from '../retry-policy.js';

export interface NewJob {
  id: string;
  command: string;
  path: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  createdAt: number;
  /** Token name of the submitter, or "anonymous" when the API runs without tokens. */
  submittedBy: string;
  /** Labels a worker must carry, every one. */
  labels: Record<string, string>;
  /** Higher first; equal priorities go in arrival order. */
  priority: number;
  retry: RetryPolicy;
  /** The worker the caller named; '' lets placement choose. */
  pinnedWorker: string;
  /** Placed before it was stored: the job and its first attempt are created dispatched on this worker. Absent or '': queued. */
  workerId?: string;
  /** Queued: why it waits, when placement could tell before it was stored (absent: ''; a waiting job's comes from its `after`). */
  reason?: string;
  /** Passed to the worker as they are; {} for none. */
  sandbox: SandboxRequest;
  /** Wall-clock limit the worker enforces; 0 (the default): none. */
  timeoutMs?: number;
  /** run_on all: the parent job of this copy. */
  parentId?: string;
  /** 'all' on a parent job: it is never dispatched itself, its children are. */
  runOn?: '' | 'all';
  /** A parent's child ids. */
  children?: string[];
  /** The Idempotency-Key of the request that made the job, and the hash of that request's body. */
  idempotencyKey?: string;
  requestHash?: string;
  /** The schedule that made the job, and the tick it runs for (null: triggered by hand). At most one job per tick. */
  schedule?: string;
  scheduledFor?: number | null;
  /** At most `limit` jobs of the key dispatched or running at once; null or absent: none. */
  concurrency?: ConcurrencyRule | null;
  /** The jobs this one waits for (it is created `waiting` when there are any), and what they must do. */
  after?: string[];
  afterCondition?: AfterCondition;
  /** A display name ('' or absent: none). */
  name?: string;
  /** Base64 bytes the process reads on its stdin, at every attempt ('' or absent: none). */
  stdin?: string;
}

/** Sandbox requests for the worker (it checks them against its own limits); 0 or absent: not asked. */
export interface SandboxRequest {
  resources?: { memoryBytes: number; cpu: number; pids: number; readBps?: number; writeBps?: number; readIops?: number; writeIops?: number };
  /** "none": no network. */
  network?: string;
  /** Own PID and mount namespace. */
  isolate?: boolean;
}

export interface JobRecord extends Required<NewJob> {
  /** How many bytes `stdin` decodes to. `listJobs` leaves `stdin` itself out (''): only a start needs it. */
  stdinBytes: number;
  state: JobStateName;
  /** The current attempt's worker; '' while the job is queued. */
  workerId: string;
  /** Number of the current attempt (1 for the first). */
  attempt: number;
  /** Why a queued or waiting job waits, or why a skipped one never ran; '' otherwise. */
  reason: string;
  /** A queued retry waits until then; null: at once. */
  nextAttemptAt: number | null;
  error: string;
  /** What kind of error `error` is (a BatonError code, e.g. BAD_REQUEST for a start the worker refused); '' for none. */
  errorCode: string;
  exitCode: number | null;
  signal: string;
  outputTruncated: boolean;
  updatedAt: number;
  finishedAt: number | null;
  /** Token name of whoever asked for the stop; '' when nobody did. */
  stoppedBy: string;
}

export interface AttemptRecord {
  number: number;
  workerId: string;
  state: JobStateName;
  exitCode: number | null;
  signal: string;
  error: string;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

/** A state change to apply; absent fields are left as they are. */
export interface StatusUpdate {
  state: JobStateName;
  /** Why the job is where it is now (an `unknown` job's silent worker); cleared when absent. */
  reason?: string;
  exitCode?: number | null;
  signal?: string;
  error?: string;
  /** The BatonError code of `error`, when it has one. */
  errorCode?: string;
  outputTruncated?: boolean;
  /** The size of the attempt's output at its end, when its worker knows it (0: empty, nothing to copy). Not stored on the job. */
  outputBytes?: number;
  /** A small output sent whole in the end report (with its runs, when kept apart): kept with the end, not copied. Not stored on the job. */
  outputData?: Uint8Array;
  outputRuns?: Uint8Array;
  startedAt?: number;
  finishedAt?: number;
}

/** `current` is the state that refused the change (undefined: no such job). */
export type ApplyResult = { applied: true; job: JobRecord } | { applied: false; current: JobStateName | undefined };

export interface JobFilter {
  state?: JobStateName;
  workerId?: string;
  /** Runs of this schedule. */
  schedule?: string;
  /** Jobs whose `after` names this job. */
  after?: string;
  /** Jobs of this display name. */
  name?: string;
  limit: number;
  /** Exclusive: jobs older than this id. */
  cursor?: string;
}

/** States a job passed through on the way to the one stored, each recorded as an event before it. */
export type PassedThrough = (stored: JobRecord) => JobRecord[];

/**
 * Jobs and their attempts. Every write is conditional on where the job is (the lifecycle's
 * `from` states) and stores an event of each job it changed in its own transaction; the
 * lifecycle's writer (job-status.ts) is the only caller of the writes.
 */
export interface JobStore {
  /** The job and its first attempt, both queued and on no worker yet, in one transaction. */
  createJob(job: NewJob): Promise<JobRecord>;
  /**
   * Jobs and their first attempts in one transaction: all or none. A parent job (run_on all) has
   * no attempt of its own. Fails with `IdempotencyKeyTaken` when a job of the same submitter
   * already has one of these idempotency keys.
   */
  createJobs(jobs: readonly NewJob[]): Promise<JobRecord[]>;
  /** The job a submitter made with this Idempotency-Key, if any. */
  findByIdempotencyKey(submittedBy: string, key: string): Promise<JobRecord | undefined>;
  /** The states of a parent's children (run_on all). */
  childStates(parentId: string): Promise<JobStateName[]>;
  /**
   * Sets a parent job's summed-up state (it has no attempt or worker of its own); undefined when
   * it already had that state. The first time it turns final, that time is kept as finished_at.
   */
  setParentState(id: string, state: JobStateName, now: number): Promise<JobRecord | undefined>;
  /**
   * Moves attempt `attempt` of a job (and the job, while that attempt is its current one) to
   * `update.state` by `transition`, if the lifecycle allows it from where the job is. Only the
   * attempt's own worker may report on it ('' for a job not yet placed).
   */
  applyStatus(jobId: string, attempt: number, workerId: string, transition: TransitionName, update: StatusUpdate, now: number, passedThrough?: PassedThrough): Promise<ApplyResult>;
  /**
   * queued → dispatched on `workerId`, for the job and its current attempt, if the job is
   * still queued at that attempt. Undefined when it is not (stopped meanwhile, or another
   * dispatcher got there first): the caller must not start it. Otherwise the job as stored.
   */
  markDispatched(jobId: string, attempt: number, workerId: string, now: number): Promise<JobRecord | undefined>;
  /** dispatched → queued (the worker refused for lack of room): the same attempt waits for another placement. */
  returnToQueue(jobId: string, attempt: number, workerId: string, reason: string, now: number): Promise<JobRecord | undefined>;
  /**
   * Ends attempt `attempt` with `update` (a failed, lost or timed-out outcome, by `ending`) and
   * queues attempt `attempt + 1`, to start no sooner than `retryAt`, in one transaction. The job
   * never shows a final state in between. Undefined when the attempt was no longer the job's
   * live one on `workerId`, or not where `ending` may start from; else the job as stored.
   */
  requeueForRetry(
    jobId: string,
    attempt: number,
    workerId: string,
    ending: TransitionName,
    update: StatusUpdate,
    retryAt: number,
    reason: string,
    now: number,
    passedThrough?: PassedThrough,
  ): Promise<JobRecord | undefined>;
  /** Why a queued job waits (shown on the job); ignored (undefined) once it is no longer queued at that attempt. */
  setReason(jobId: string, attempt: number, reason: string, now: number): Promise<JobRecord | undefined>;
  /** Records who asked for the stop; the first asker is kept (undefined when there was one already). */
  setStoppedBy(jobId: string, name: string, now: number): Promise<JobRecord | undefined>;
  /** Every dispatchable job (no parents) not yet in a final state, oldest first: what the dispatcher rebuilds its queue and counts from. */
  listActiveJobs(): Promise<JobRecord[]>;
  /** Jobs waiting for a placement (run_on-all parents, never placed themselves, aside). */
  countQueued(): Promise<number>;
  /** How many jobs are in each state (states with none are absent): for /metrics. */
  countJobsByState(): Promise<Map<string, number>>;
  /** The jobs of these ids that exist, in no particular order: one query for many. */
  getJobs(ids: readonly string[]): Promise<JobRecord[]>;
  /** The job and its attempts, oldest first. */
  getJob(id: string): Promise<{ job: JobRecord; attempts: AttemptRecord[] } | undefined>;
  /** Newest first, without their stdin (see JobRecord.stdinBytes); `nextCursor` is set when more jobs follow. */
  listJobs(filter: JobFilter): Promise<{ jobs: JobRecord[]; nextCursor: string | null }>;
  /**
   * Deletes up to `batch` jobs in a final state that finished before `finishedBefore`, oldest
   * first, with their attempts and events, in one transaction (retention); their ids. A job
   * that a job not in a final state depends on (its `after`) is not deleted.
   */
  pruneJobs(finishedBefore: number, batch: number): Promise<string[]>;
}

/** A new job as `createJobs` stores it: queued, waiting for the jobs in its `after`, or dispatched when it was placed before it was stored. */
export function newJobRecord(job: NewJob): JobRecord {
  const workerId = job.workerId ?? '';
  const after = job.after ?? [];
  const afterCondition = job.afterCondition ?? 'succeeded';
  // Every field written out, in the order a record read from the store has (sql-job-store's
  // toJob): all records then share one shape, and no spread adds fields one at a time. A job is
  // made this way on every submission, several times.
  return {
    id: job.id,
    state: workerId !== '' ? 'dispatched' : after.length > 0 ? 'waiting' : 'queued',
    workerId,
    command: job.command,
    path: job.path,
    args: job.args,
    env: job.env,
    cwd: job.cwd,
    error: '',
    errorCode: '',
    exitCode: null,
    signal: '',
    outputTruncated: false,
    createdAt: job.createdAt,
    updatedAt: job.createdAt,
    finishedAt: null,
    submittedBy: job.submittedBy,
    stoppedBy: '',
    labels: job.labels,
    priority: job.priority,
    retry: job.retry,
    pinnedWorker: job.pinnedWorker,
    sandbox: job.sandbox,
    reason: after.length > 0 ? waitReason(after, afterCondition) : (job.reason ?? ''),
    attempt: 1,
    nextAttemptAt: null,
    timeoutMs: job.timeoutMs ?? 0,
    parentId: job.parentId ?? '',
    runOn: job.runOn ?? '',
    children: job.children ?? [],
    idempotencyKey: job.idempotencyKey ?? '',
    requestHash: job.requestHash ?? '',
    schedule: job.schedule ?? '',
    scheduledFor: job.scheduledFor ?? null,
    concurrency: job.concurrency ?? null,
    after,
    afterCondition,
    name: job.name ?? '',
    stdin: job.stdin ?? '',
    stdinBytes: base64Bytes(job.stdin ?? ''),
  };
}

/** How many bytes a base64 text decodes to, without decoding it. */
export function base64Bytes(text: string): number {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return Math.max(0, Math.floor((text.length * 3) / 4) - padding);
}

/** A job for this schedule's tick exists already: the tick has fired (here, or on another scheduler). */
export class TickTaken extends Error {
  constructor() {
    super('a job for this tick of the schedule exists already');
    this.name = 'TickTaken';
  }
}

/** Another job of the same submitter already has the Idempotency-Key. */
export class IdempotencyKeyTaken extends Error {
  constructor() {
    super('the Idempotency-Key is already in use');
    this.name = 'IdempotencyKeyTaken';
  }
}
