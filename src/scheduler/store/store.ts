import { sql, type Kysely, type Selectable } from 'kysely';
import { isFinal, predecessorsOf, type JobStateName } from '../job-state.js';
import type { Database, JobsTable, AttemptsTable, TokensTable, WorkersTable } from './schema.js';
import { connect, type Dialect } from './connect.js';
import type { Writer } from './writer.js';

export interface NewJob {
  id: string;
  workerId: string;
  command: string;
  path: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  createdAt: number;
  /** Token name of the submitter, or "anonymous" when the API runs without tokens. */
  submittedBy: string;
}

export interface JobRecord extends NewJob {
  state: JobStateName;
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

  static async open(url: string): Promise<Store> {
    const { db, writer, dialect } = await connect(url);
    return new Store(db, writer, dialect);
  }

  close(): Promise<void> {
    return this.db.destroy();
  }

  /** The job and its first attempt, both queued, in one transaction. */
  async createJob(job: NewJob): Promise<void> {
    const common = { worker_id: job.workerId, state: 'queued', exit_code: null, signal: '', error: '', created_at: job.createdAt, finished_at: null };
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
        })
        .compile(),
      this.db
        .insertInto('attempts')
        .values({ ...common, job_id: job.id, number: 1, started_at: null })
        .compile(),
    ]);
  }

  /**
   * Moves a job (and its current attempt) to `update.state` if the state machine allows
   * it. The check is part of each UPDATE (`state IN predecessors`), so two reporters racing
   * on one job cannot move it backwards, in either dialect. Only the job's own worker
   * may report on it.
   */
  async applyStatus(jobId: string, workerId: string, update: StatusUpdate, now: number): Promise<ApplyResult> {
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
        .set({ ...outcome, updated_at: now, ...(update.outputTruncated !== undefined && { output_truncated: update.outputTruncated ? 1 : 0 }) })
        .where('id', '=', jobId)
        .where('worker_id', '=', workerId)
        .where('state', 'in', from)
        .compile(),
      // The current attempt is the one not yet ended; it mirrors the job's state, so the same check picks it.
      this.db
        .updateTable('attempts')
        .set({ ...outcome, ...(startedAt !== undefined && { started_at: sql<number>`coalesce(started_at, ${startedAt})` }) })
        .where('job_id', '=', jobId)
        .where('worker_id', '=', workerId)
        .where('state', 'in', from)
        .compile(),
    ]);
    if (jobsChanged) return { applied: true };
    const row = await this.db.selectFrom('jobs').select('state').where('id', '=', jobId).where('worker_id', '=', workerId).executeTakeFirst();
    return { applied: false, current: row?.state as JobStateName | undefined };
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
