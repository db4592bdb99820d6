import { sql, type Kysely, type Selectable } from 'kysely';
import { FINAL_STATES, isFinal, predecessorsOf, type JobStateName } from '../job-state.js';
import { DEFAULT_RETRY, type RetryPolicy } from '../retry-policy.js';
import type { Database, JobsTable, AttemptsTable, TokensTable, WorkersTable } from './schema.js';
import { connect, type ConnectionLost, type Dialect } from './connect.js';
import type { Writer } from './writer.js';

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
  /** Passed to the worker as they are; {} for none. */
  sandbox: SandboxRequest;
}

/** Sandbox requests for the worker (it checks them against its own limits); 0 or absent: not asked. */
export interface SandboxRequest {
  resources?: { memoryBytes: number; cpu: number; pids: number; readBps?: number; writeBps?: number; readIops?: number; writeIops?: number };
  /** "none": no network. */
  network?: string;
  /** Own PID and mount namespace. */
  isolate?: boolean;
}

export interface JobRecord extends NewJob {
  state: JobStateName;
  /** The current attempt's worker; '' while the job is queued. */
  workerId: string;
  /** Number of the current attempt (1 for the first). */
  attempt: number;
  /** Why a queued job waits; '' otherwise. */
  reason: string;
  /** A queued retry waits until then; null: at once. */
  nextAttemptAt: number | null;
  error: string;
  exitCode: number | null;
  signal: string;
  outputTruncated: boolean;
  updatedAt: number;
  finishedAt: number | null;
  /** Token name of whoever asked for the stop; '' when nobody did. */
  stoppedBy: string;
}

export interface TokenRecord {
  id: string;
  name: string;
  /** viewer | operator | admin; the auth layer grants nothing to a role it does not know. */
  role: string;
  /** Hex SHA-256 of the secret. */
  hash: string;
  createdAt: number;
  revokedAt: number | null;
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

export type WorkerState = 'up' | 'down' | 'deregistered';

export interface WorkerRecord {
  id: string;
  address: string;
  labels: Record<string, string>;
  capacity: number;
  state: WorkerState;
  lastHeartbeatAt: number;
  registeredAt: number;
  version: string;
}

/** A state change to apply; absent fields are left as they are. */
export interface StatusUpdate {
  state: JobStateName;
  exitCode?: number | null;
  signal?: string;
  error?: string;
  outputTruncated?: boolean;
  startedAt?: number;
  finishedAt?: number;
}

/** `current` is the state that refused the change (undefined: no such job). */
export type ApplyResult = { applied: true } | { applied: false; current: JobStateName | undefined };

export interface JobFilter {
  state?: JobStateName;
  workerId?: string;
  limit: number;
  /** Exclusive: jobs older than this id. */
  cursor?: string;
}

/**
 * The scheduler's system of record. One implementation for both dialects: every query
 * is plain Kysely, so SQLite and PostgreSQL run the same code.
 */
export class Store {
  private constructor(
    private readonly db: Kysely<Database>,
    private readonly writer: Writer,
    readonly dialect: Dialect,
  ) {}

  static async open(url: string, onConnectionLost?: ConnectionLost): Promise<Store> {
    const { db, writer, dialect } = await connect(url, onConnectionLost);
    return new Store(db, writer, dialect);
  }

  close(): Promise<void> {
    return this.db.destroy();
  }

  /** The job and its first attempt, both queued and on no worker yet, in one transaction. */
  async createJob(job: NewJob): Promise<void> {
    const common = { worker_id: '', state: 'queued', exit_code: null, signal: '', error: '', created_at: job.createdAt, finished_at: null };
    await this.writer.run([
      this.db
        .insertInto('jobs')
        .values({
          ...common,
          id: job.id,
          command: job.command,
          path: job.path,
          args: JSON.stringify(job.args),
          env: JSON.stringify(job.env),
          cwd: job.cwd,
          output_truncated: 0,
          updated_at: job.createdAt,
          submitted_by: job.submittedBy,
          stopped_by: '',
          labels: JSON.stringify(job.labels),
          priority: job.priority,
          retry: JSON.stringify(job.retry),
          pinned_worker: job.pinnedWorker,
          sandbox: JSON.stringify(job.sandbox),
          reason: '',
          attempt: 1,
          next_attempt_at: null,
        })
        .compile(),
      this.db
        .insertInto('attempts')
        .values({ ...common, job_id: job.id, number: 1, started_at: null })
        .compile(),
    ]);
  }

  /**
   * Moves attempt `attempt` of a job (and the job, while that attempt is its current one) to
   * `update.state` if the state machine allows it. The check is part of each UPDATE (`state
   * IN predecessors`), so two reporters racing on one job cannot move it backwards, in either
   * dialect. Only the attempt's own worker may report on it ('' for a job not yet placed).
   */
  async applyStatus(jobId: string, attempt: number, workerId: string, update: StatusUpdate, now: number): Promise<ApplyResult> {
    const from = predecessorsOf(update.state);
    if (from.length === 0) return { applied: false, current: undefined };
    const finishedAt = isFinal(update.state) ? update.finishedAt || now : null;
    const startedAt = update.startedAt || (update.state === 'running' ? now : undefined);
    const outcome = {
      state: update.state,
      ...(finishedAt !== null && { finished_at: finishedAt }),
      ...(update.exitCode !== undefined && { exit_code: update.exitCode }),
      ...(update.signal !== undefined && { signal: update.signal }),
      ...(update.error !== undefined && { error: update.error }),
    };
    const [jobsChanged] = await this.writer.run([
      this.db
        .updateTable('jobs')
        .set({ ...outcome, reason: '', updated_at: now, ...(update.outputTruncated !== undefined && { output_truncated: update.outputTruncated ? 1 : 0 }) })
        .where('id', '=', jobId)
        .where('attempt', '=', attempt)
        .where('worker_id', '=', workerId)
        .where('state', 'in', from)
        .compile(),
      this.attemptUpdate(jobId, attempt, workerId, from, { ...outcome, ...(startedAt !== undefined && { started_at: sql<number>`coalesce(started_at, ${startedAt})` }) }),
    ]);
    if (jobsChanged) return { applied: true };
    const row = await this.db.selectFrom('jobs').select('state').where('id', '=', jobId).where('attempt', '=', attempt).where('worker_id', '=', workerId).executeTakeFirst();
    return { applied: false, current: row?.state as JobStateName | undefined };
  }

  /**
   * queued → dispatched on `workerId`, for the job and its current attempt, if the job is
   * still queued at that attempt. False when it is not (stopped meanwhile, or another
   * dispatcher got there first): the caller must not start it.
   */
  async markDispatched(jobId: string, attempt: number, workerId: string, now: number): Promise<boolean> {
    const [changed] = await this.writer.run([
      this.db
        .updateTable('jobs')
        .set({ state: 'dispatched', worker_id: workerId, reason: '', next_attempt_at: null, updated_at: now })
        .where('id', '=', jobId)
        .where('attempt', '=', attempt)
        .where('state', '=', 'queued')
        .compile(),
      this.attemptUpdate(jobId, attempt, '', ['queued'], { state: 'dispatched', worker_id: workerId }),
    ]);
    return changed === 1;
  }

  /** dispatched → queued (the worker refused for lack of room): the same attempt waits for another placement. */
  async returnToQueue(jobId: string, attempt: number, workerId: string, reason: string, now: number): Promise<boolean> {
    const [changed] = await this.writer.run([
      this.db
        .updateTable('jobs')
        .set({ state: 'queued', worker_id: '', reason, updated_at: now })
        .where('id', '=', jobId)
        .where('attempt', '=', attempt)
        .where('worker_id', '=', workerId)
        .where('state', '=', 'dispatched')
        .compile(),
      this.attemptUpdate(jobId, attempt, workerId, ['dispatched'], { state: 'queued', worker_id: '' }),
    ]);
    return changed === 1;
  }

  /**
   * Ends attempt `attempt` with `update` (a failed, lost or timed-out outcome) and queues
   * attempt `attempt + 1`, to start no sooner than `retryAt`, in one transaction. The job
   * never shows a final state in between. False when the attempt was no longer the job's
   * live one on `workerId`.
   */
  async requeueForRetry(jobId: string, attempt: number, workerId: string, update: StatusUpdate, retryAt: number, reason: string, now: number): Promise<boolean> {
    const from = predecessorsOf(update.state);
    const [inserted] = await this.writer.run([
      // Only while the attempt is the job's live one: the same condition as the UPDATE below, in the same transaction.
      this.db
        .insertInto('attempts')
        .columns(['job_id', 'number', 'worker_id', 'state', 'created_at'])
        .expression(
          this.db
            .selectFrom('jobs')
            .select([
              'id',
              sql<number>`attempt + 1`.as('number'),
              sql<string>`cast('' as text)`.as('worker_id'),
              sql<string>`cast('queued' as text)`.as('state'),
              sql<number>`cast(${now} as bigint)`.as('created_at'),
            ])
            .where('id', '=', jobId)
            .where('attempt', '=', attempt)
            .where('worker_id', '=', workerId)
            .where('state', 'in', from),
        )
        .compile(),
      this.attemptUpdate(jobId, attempt, workerId, from, {
        state: update.state,
        finished_at: update.finishedAt || now,
        ...(update.exitCode !== undefined && { exit_code: update.exitCode }),
        ...(update.signal !== undefined && { signal: update.signal }),
        ...(update.error !== undefined && { error: update.error }),
      }),
      this.db
        .updateTable('jobs')
        .set({ state: 'queued', worker_id: '', attempt: attempt + 1, next_attempt_at: retryAt, reason, error: update.error ?? '', exit_code: null, signal: '', updated_at: now })
        .where('id', '=', jobId)
        .where('attempt', '=', attempt)
        .where('worker_id', '=', workerId)
        .where('state', 'in', from)
        .compile(),
    ]);
    return inserted === 1;
  }

  /** Why a queued job waits (shown on the job); ignored once it is no longer queued at that attempt. */
  async setReason(jobId: string, attempt: number, reason: string): Promise<void> {
    await this.db.updateTable('jobs').set({ reason }).where('id', '=', jobId).where('attempt', '=', attempt).where('state', '=', 'queued').execute();
  }

  /** Every job not yet in a final state, oldest first: what the dispatcher rebuilds its queue and counts from. */
  async listActiveJobs(): Promise<JobRecord[]> {
    const rows = await this.db.selectFrom('jobs').selectAll().where('state', 'not in', FINAL_STATES).orderBy('id').execute();
    return rows.map(toJob);
  }

  private attemptUpdate(jobId: string, attempt: number, workerId: string, from: readonly JobStateName[], set: Partial<Record<keyof AttemptsTable, unknown>>) {
    return this.db
      .updateTable('attempts')
      .set(set as never)
      .where('job_id', '=', jobId)
      .where('number', '=', attempt)
      .where('worker_id', '=', workerId)
      .where('state', 'in', from)
      .compile();
  }

  async getJob(id: string): Promise<{ job: JobRecord; attempts: AttemptRecord[] } | undefined> {
    const row = await this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    const attempts = await this.db.selectFrom('attempts').selectAll().where('job_id', '=', id).orderBy('number').execute();
    return { job: toJob(row), attempts: attempts.map(toAttempt) };
  }

  /** Newest first; `nextCursor` is set when more jobs follow. */
  async listJobs(filter: JobFilter): Promise<{ jobs: JobRecord[]; nextCursor: string | null }> {
    let query = this.db.selectFrom('jobs').selectAll();
    if (filter.state !== undefined) query = query.where('state', '=', filter.state);
    if (filter.workerId !== undefined) query = query.where('worker_id', '=', filter.workerId);
    if (filter.cursor !== undefined) query = query.where('id', '<', filter.cursor);
    const rows = await query.orderBy('id', 'desc').limit(filter.limit + 1).execute();
    const more = rows.length > filter.limit;
    const jobs = rows.slice(0, filter.limit).map(toJob);
    return { jobs, nextCursor: more ? jobs[jobs.length - 1]!.id : null };
  }

  /** Records who asked for the stop; the first asker is kept. */
  async setStoppedBy(jobId: string, name: string): Promise<void> {
    await this.db.updateTable('jobs').set({ stopped_by: name }).where('id', '=', jobId).where('stopped_by', '=', '').execute();
  }

  /** Fails with ALREADY_EXISTS-style `TokenNameTaken` when a live token has this name. */
  async createToken(token: Omit<TokenRecord, 'revokedAt'>): Promise<void> {
    const taken = await this.db.selectFrom('tokens').select('id').where('name', '=', token.name).where('revoked_at', 'is', null).executeTakeFirst();
    if (taken) throw new TokenNameTaken(token.name);
    try {
      await this.db
        .insertInto('tokens')
        .values({ id: token.id, name: token.name, role: token.role, hash: token.hash, created_at: token.createdAt, revoked_at: null })
        .execute();
    } catch (err) {
      // Two creators raced past the check above: the unique index on live names refused the second.
      if (/unique/i.test(String((err as Error).message))) throw new TokenNameTaken(token.name);
      throw err;
    }
  }

  /** Live tokens only unless `all`; oldest first. */
  async listTokens(all = false): Promise<TokenRecord[]> {
    let query = this.db.selectFrom('tokens').selectAll();
    if (!all) query = query.where('revoked_at', 'is', null);
    const rows = await query.orderBy('created_at').orderBy('id').execute();
    return rows.map(toToken);
  }

  /** Revokes the live token with this name; undefined when there is none. */
  async revokeToken(name: string, now: number): Promise<TokenRecord | undefined> {
    const live = await this.db.selectFrom('tokens').selectAll().where('name', '=', name).where('revoked_at', 'is', null).executeTakeFirst();
    if (!live) return undefined;
    await this.db.updateTable('tokens').set({ revoked_at: now }).where('id', '=', live.id).where('revoked_at', 'is', null).execute();
    return { ...toToken(live), revokedAt: now };
  }

  async upsertWorker(w: WorkerRecord): Promise<void> {
    const values = {
      id: w.id,
      address: w.address,
      labels: JSON.stringify(w.labels),
      capacity: w.capacity,
      state: w.state,
      last_heartbeat_at: w.lastHeartbeatAt,
      registered_at: w.registeredAt,
      version: w.version,
    };
    const { id: _id, ...update } = values;
    await this.db
      .insertInto('workers')
      .values(values)
      .onConflict((oc) => oc.column('id').doUpdateSet(update))
      .execute();
  }

  async setWorkerState(id: string, state: WorkerState, lastHeartbeatAt: number): Promise<void> {
    await this.db.updateTable('workers').set({ state, last_heartbeat_at: lastHeartbeatAt }).where('id', '=', id).execute();
  }

  async listWorkers(): Promise<WorkerRecord[]> {
    const rows = await this.db.selectFrom('workers').selectAll().orderBy('id').execute();
    return rows.map(toWorker);
  }
}

function toJob(r: Selectable<JobsTable>): JobRecord {
  return {
    id: r.id,
    state: r.state as JobStateName,
    workerId: r.worker_id,
    command: r.command,
    path: r.path,
    args: JSON.parse(r.args) as string[],
    env: JSON.parse(r.env) as Record<string, string>,
    cwd: r.cwd,
    error: r.error,
    exitCode: r.exit_code,
    signal: r.signal,
    outputTruncated: r.output_truncated !== 0,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    finishedAt: r.finished_at,
    submittedBy: r.submitted_by,
    stoppedBy: r.stopped_by,
    labels: JSON.parse(r.labels) as Record<string, string>,
    priority: r.priority,
    retry: { ...DEFAULT_RETRY, ...(JSON.parse(r.retry) as Partial<RetryPolicy>) },
    pinnedWorker: r.pinned_worker,
    sandbox: JSON.parse(r.sandbox) as SandboxRequest,
    reason: r.reason,
    attempt: r.attempt,
    nextAttemptAt: r.next_attempt_at,
  };
}

function toToken(r: Selectable<TokensTable>): TokenRecord {
  return { id: r.id, name: r.name, role: r.role, hash: r.hash, createdAt: r.created_at, revokedAt: r.revoked_at };
}

export class TokenNameTaken extends Error {
  constructor(readonly tokenName: string) {
    super(`a live token named "${tokenName}" already exists; revoke it first or pick another name`);
    this.name = 'TokenNameTaken';
  }
}

function toAttempt(r: Selectable<AttemptsTable>): AttemptRecord {
  return {
    number: r.number,
    workerId: r.worker_id,
    state: r.state as JobStateName,
    exitCode: r.exit_code,
    signal: r.signal,
    error: r.error,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

function toWorker(r: Selectable<WorkersTable>): WorkerRecord {
  return {
    id: r.id,
    address: r.address,
    labels: JSON.parse(r.labels) as Record<string, string>,
    capacity: r.capacity,
    state: r.state as WorkerState,
    lastHeartbeatAt: r.last_heartbeat_at,
    registeredAt: r.registered_at,
    version: r.version,
  };
}
