import { sql, type CompiledQuery, type Insertable, type Kysely, type Selectable } from 'kysely';
import { jobView } from '../http/views.js';
import { FINAL_STATES, fromStates, isFinal, type JobStateName, type TransitionName } from '../job-state.js';
import { DEFAULT_RETRY, type RetryPolicy } from '../retry-policy.js';
import type { ConcurrencyRule } from '../concurrency.js';
import { waitReason, type AfterCondition } from '../dependencies.js';
import type { Database, JobsTable, AttemptsTable, TokensTable, WorkersTable, EventsTable } from './schema.js';
import { connect, type ConnectionLost, type Dialect } from './connect.js';
import type { Step, Writer, WriteResult } from './writer.js';
import { QueryTemplates } from './query-template.js';

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
  /** At most `limit` jobs of the key dispatched or running at once; null or absent: none. */
  concurrency?: ConcurrencyRule | null;
  /** The jobs this one waits for (it is created `waiting` when there are any), and what they must do. */
  after?: string[];
  afterCondition?: AfterCondition;
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
  /** Who drained the worker; '' when it takes placements ("worker" when its own heartbeat asked). */
  drainingBy: string;
}

export interface EventRecord {
  id: number;
  kind: string;
  entityId: string;
  /** The view, JSON text. */
  data: string;
  createdAt: number;
}

export interface EventFilter {
  /** Only events of this job or worker. */
  entityId?: string;
  kinds?: readonly string[];
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
  startedAt?: number;
  finishedAt?: number;
}

/** `current` is the state that refused the change (undefined: no such job). */
export type ApplyResult = { applied: true; job: JobRecord } | { applied: false; current: JobStateName | undefined };

export interface JobFilter {
  state?: JobStateName;
  workerId?: string;
  limit: number;
  /** Exclusive: jobs older than this id. */
  cursor?: string;
}

/** States a job passed through on the way to the one stored, each recorded as an event before it. */
export type PassedThrough = (stored: JobRecord) => JobRecord[];

/**
 * The scheduler's system of record. One implementation for both dialects: every query
 * is plain Kysely, so SQLite and PostgreSQL run the same code.
 */
export class Store {
  /** The hot writes (job creation, dispatch, status, events, heartbeat times), compiled once per shape. */
  private readonly templates = new QueryTemplates();
  /** Told of the events each job write stored, once committed, in commit order (the event log announces them). */
  onJobEvents: ((events: EventRecord[]) => void) | undefined;

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
  async createJob(job: NewJob): Promise<JobRecord> {
    const [created] = await this.createJobs([job]);
    return created!;
  }

  /**
   * Jobs and their first attempts in one transaction: all or none. A parent job (run_on all) has
   * no attempt of its own. Fails with `IdempotencyKeyTaken` when a job of the same submitter
   * already has one of these idempotency keys.
   */
  async createJobs(jobs: readonly NewJob[]): Promise<JobRecord[]> {
    const records = jobs.map(newJobRecord);
    // The rows are exactly the records: nothing is read back.
    const queries = records.flatMap((job) => {
      const common = { worker_id: job.workerId, state: job.state, exit_code: null, signal: '', error: '', created_at: job.createdAt, finished_at: null };
      const insert = this.insert('jobs', 'none', {
        ...common,
        id: job.id,
        command: job.command,
        path: job.path,
        args: JSON.stringify(job.args),
        env: JSON.stringify(job.env),
        cwd: job.cwd,
        output_truncated: 0,
        updated_at: job.updatedAt,
        submitted_by: job.submittedBy,
        stopped_by: '',
        labels: JSON.stringify(job.labels),
        priority: job.priority,
        retry: JSON.stringify(job.retry),
        pinned_worker: job.pinnedWorker,
        sandbox: JSON.stringify(job.sandbox),
        reason: job.reason,
        attempt: 1,
        next_attempt_at: null,
        timeout_ms: job.timeoutMs,
        parent_id: job.parentId,
        run_on: job.runOn,
        children: JSON.stringify(job.children),
        idempotency_key: job.idempotencyKey,
        request_hash: job.requestHash,
        error_code: '',
        concurrency: job.concurrency ? JSON.stringify(job.concurrency) : '',
        after: JSON.stringify(job.after),
        after_condition: job.afterCondition,
      } satisfies Insertable<JobsTable>);
      if (job.runOn === 'all') return [insert];
      return [insert, this.insert('attempts', 'none', { ...common, job_id: job.id, number: 1, started_at: null } satisfies Insertable<AttemptsTable>)];
    });
    try {
      await this.writeJobs(queries, () => records, records[0]?.createdAt ?? Date.now());
    } catch (err) {
      if (isUniqueViolation(err) && jobs.some((j) => j.idempotencyKey)) throw new IdempotencyKeyTaken();
      throw err;
    }
    return records;
  }

  /** The job a submitter made with this Idempotency-Key, if any. */
  async findByIdempotencyKey(submittedBy: string, key: string): Promise<JobRecord | undefined> {
    const row = await this.db.selectFrom('jobs').selectAll().where('submitted_by', '=', submittedBy).where('idempotency_key', '=', key).executeTakeFirst();
    return row && toJob(row);
  }

  /** The states of a parent's children (run_on all). */
  async childStates(parentId: string): Promise<JobStateName[]> {
    const rows = await this.db.selectFrom('jobs').select('state').where('parent_id', '=', parentId).execute();
    return rows.map((r) => r.state as JobStateName);
  }

  /**
   * Sets a parent job's summed-up state (it has no attempt or worker of its own); undefined when
   * it already had that state. The first time it turns final, that time is kept as finished_at.
   */
  async setParentState(id: string, state: JobStateName, now: number): Promise<JobRecord | undefined> {
    const from = fromStates('summarise', state);
    if (from.length === 0) return undefined;
    const rows = await this.returning(
      this.db
        .updateTable('jobs')
        .set({ state, updated_at: now, finished_at: isFinal(state) ? sql<number>`coalesce(finished_at, ${now})` : null })
        .where('id', '=', id)
        .where('run_on', '=', 'all')
        .where('state', 'in', from)
        .returningAll()
        .compile(),
      now,
    );
    return rows[0];
  }

  /**
   * Moves attempt `attempt` of a job (and the job, while that attempt is its current one) to
   * `update.state` by `transition`, if the lifecycle allows it from where the job is, and
   * records the change as an event in the same transaction. The check is part of each UPDATE
   * (`state IN from`), so two reporters racing on one job cannot both move it, in either
   * dialect. Only the attempt's own worker may report on it ('' for a job not yet placed).
   */
  async applyStatus(
    jobId: string,
    attempt: number,
    workerId: string,
    transition: TransitionName,
    update: StatusUpdate,
    now: number,
    passedThrough?: PassedThrough,
  ): Promise<ApplyResult> {
    const from = fromStates(transition, update.state);
    if (from.length === 0) return { applied: false, current: undefined };
    const finishedAt = isFinal(update.state) ? update.finishedAt || now : null;
    const startedAt = update.startedAt || (update.state === 'running' ? now : undefined);
    const values = {
      jobId,
      attempt,
      workerId,
      now,
      finishedAt: finishedAt ?? undefined,
      exitCode: update.exitCode,
      signal: update.signal,
      error: update.error,
      errorCode: update.errorCode,
      outputTruncated: update.outputTruncated === undefined ? undefined : update.outputTruncated ? 1 : 0,
      startedAt,
      reason: update.reason,
    };
    // One template per state and set of values given (a handful in all); the shape decides what each sets.
    const given = (k: keyof typeof values): boolean => values[k] !== undefined;
    const shape = `${transition} ${update.state} ${Object.keys(values).filter((k) => given(k as keyof typeof values))}`;
    const outcome = (p: <T>(name: string) => T) => ({
      state: update.state,
      ...(given('finishedAt') && { finished_at: p<number>('finishedAt') }),
      ...(given('exitCode') && { exit_code: p<number | null>('exitCode') }),
      ...(given('signal') && { signal: p<string>('signal') }),
      ...(given('error') && { error: p<string>('error') }),
    });
    const { jobs } = await this.writeJobs(
      [
        this.templates
          .get(`applyStatus jobs ${shape}`, (p) =>
            this.db
              .updateTable('jobs')
              .set({
                ...outcome(p),
                reason: given('reason') ? p<string>('reason') : '',
                updated_at: p('now'),
                ...(given('outputTruncated') && { output_truncated: p<number>('outputTruncated') }),
                ...(given('errorCode') && { error_code: p<string>('errorCode') }),
              })
              .where('id', '=', p<string>('jobId'))
              .where('attempt', '=', p<number>('attempt'))
              .where('worker_id', '=', p<string>('workerId'))
              .where('state', 'in', from)
              .returningAll(),
          )
          .fill(values),
        this.templates
          .get(`applyStatus attempts ${shape}`, (p) =>
            this.attemptUpdateQuery(p('jobId'), p('attempt'), p('workerId'), from, {
              ...outcome(p),
              ...(given('startedAt') && { started_at: sql<number>`coalesce(started_at, ${p<number>('startedAt')})` }),
            }),
          )
          .fill(values),
      ],
      jobsOf(0),
      now,
      passedThrough,
    );
    const changed = jobs[0];
    if (changed) return { applied: true, job: changed };
    const row = await this.db.selectFrom('jobs').select('state').where('id', '=', jobId).where('attempt', '=', attempt).where('worker_id', '=', workerId).executeTakeFirst();
    return { applied: false, current: row?.state as JobStateName | undefined };
  }

  /**
   * queued → dispatched on `workerId`, for the job and its current attempt, if the job is
   * still queued at that attempt. False when it is not (stopped meanwhile, or another
   * dispatcher got there first): the caller must not start it. Otherwise the job as stored.
   */
  async markDispatched(jobId: string, attempt: number, workerId: string, now: number): Promise<JobRecord | undefined> {
    const values = { jobId, attempt, workerId, now };
    const from = fromStates('dispatch', 'dispatched');
    const { jobs } = await this.writeJobs(
      [
        this.templates
          .get('markDispatched jobs', (p) =>
            this.db
              .updateTable('jobs')
              .set({ state: 'dispatched', worker_id: p('workerId'), reason: '', next_attempt_at: null, updated_at: p('now') })
              .where('id', '=', p<string>('jobId'))
              .where('attempt', '=', p<number>('attempt'))
              .where('state', 'in', from)
              .returningAll(),
          )
          .fill(values),
        this.templates
          .get('markDispatched attempts', (p) => this.attemptUpdateQuery(p('jobId'), p('attempt'), '', from, { state: 'dispatched', worker_id: p('workerId') }))
          .fill(values),
      ],
      jobsOf(0),
      now,
    );
    return jobs[0];
  }

  /** dispatched → queued (the worker refused for lack of room): the same attempt waits for another placement. */
  async returnToQueue(jobId: string, attempt: number, workerId: string, reason: string, now: number): Promise<JobRecord | undefined> {
    const from = fromStates('unplace', 'queued');
    const { jobs } = await this.writeJobs(
      [
        this.db
          .updateTable('jobs')
          .set({ state: 'queued', worker_id: '', reason, updated_at: now })
          .where('id', '=', jobId)
          .where('attempt', '=', attempt)
          .where('worker_id', '=', workerId)
          .where('state', 'in', from)
          .returningAll()
          .compile(),
        this.attemptUpdate(jobId, attempt, workerId, from, { state: 'queued', worker_id: '' }),
      ],
      jobsOf(0),
      now,
    );
    return jobs[0];
  }

  /**
   * Ends attempt `attempt` with `update` (a failed, lost or timed-out outcome, by `ending`) and
   * queues attempt `attempt + 1`, to start no sooner than `retryAt`, in one transaction. The job
   * never shows a final state in between. Undefined when the attempt was no longer the job's
   * live one on `workerId`, or not where `ending` may start from; else the job as stored.
   */
  async requeueForRetry(
    jobId: string,
    attempt: number,
    workerId: string,
    ending: TransitionName,
    update: StatusUpdate,
    retryAt: number,
    reason: string,
    now: number,
    passedThrough?: PassedThrough,
  ): Promise<JobRecord | undefined> {
    const endsFrom = fromStates(ending, update.state);
    const from = fromStates('retry', 'queued').filter((s) => endsFrom.includes(s));
    if (from.length === 0) return undefined;
    const live = (q: ReturnType<typeof this.db.updateTable<'jobs'>>) =>
      q.where('id', '=', jobId).where('attempt', '=', attempt).where('worker_id', '=', workerId).where('state', 'in', from);
    const {
      results: [locked, inserted],
      jobs,
    } = await this.writeJobs(
      [
        // Lock the job row first, as applyStatus does (jobs, then attempts): on PostgreSQL the
        // attempts INSERT below takes a key-share lock on the job through its foreign key, and
        // taking the row lock after it, against an applyStatus in flight, deadlocked (40P01).
        live(this.db.updateTable('jobs').set({ attempt })).compile(),
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
        live(
          this.db.updateTable('jobs').set({
            state: 'queued',
            worker_id: '',
            attempt: attempt + 1,
            next_attempt_at: retryAt,
            reason,
            error: update.error ?? '',
            error_code: update.errorCode ?? '',
            exit_code: null,
            signal: '',
            updated_at: now,
          }),
        )
          .returningAll()
          .compile(),
      ],
      jobsOf(3),
      now,
      passedThrough,
    );
    if (locked!.changed !== 1 || inserted!.changed !== 1) return undefined;
    return jobs[0];
  }

  /** Why a queued job waits (shown on the job); ignored (undefined) once it is no longer queued at that attempt. */
  async setReason(jobId: string, attempt: number, reason: string, now: number): Promise<JobRecord | undefined> {
    const rows = await this.returning(
      this.db.updateTable('jobs').set({ reason }).where('id', '=', jobId).where('attempt', '=', attempt).where('state', '=', 'queued').returningAll().compile(),
      now,
    );
    return rows[0];
  }

  /** Every dispatchable job (no parents) not yet in a final state, oldest first: what the dispatcher rebuilds its queue and counts from. */
  async listActiveJobs(): Promise<JobRecord[]> {
    const rows = await this.db.selectFrom('jobs').selectAll().where('state', 'not in', FINAL_STATES).where('run_on', '=', '').orderBy('id').execute();
    return rows.map(toJob);
  }

  /** Jobs waiting for a placement (run_on-all parents, never placed themselves, aside): an index-only count. */
  async countQueued(): Promise<number> {
    const row = await this.db
      .selectFrom('jobs')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('state', '=', 'queued')
      .where('run_on', '=', '')
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** How many jobs are in each state (states with none are absent): for /metrics. */
  async countJobsByState(): Promise<Map<string, number>> {
    const rows = await this.db
      .selectFrom('jobs')
      .select(['state', (eb) => eb.fn.countAll().as('n')])
      .groupBy('state')
      .execute();
    // PostgreSQL's count(*) comes back as a string.
    return new Map(rows.map((r) => [r.state, Number(r.n)]));
  }

  private attemptUpdate(jobId: string, attempt: number, workerId: string, from: readonly JobStateName[], set: Partial<Record<keyof AttemptsTable, unknown>>) {
    return this.attemptUpdateQuery(jobId, attempt, workerId, from, set).compile();
  }

  private attemptUpdateQuery(jobId: string, attempt: number, workerId: string, from: readonly JobStateName[], set: Partial<Record<keyof AttemptsTable, unknown>>) {
    return this.db
      .updateTable('attempts')
      .set(set as never)
      .where('job_id', '=', jobId)
      .where('number', '=', attempt)
      .where('worker_id', '=', workerId)
      .where('state', 'in', from);
  }

  /** `insert into <table>`, from a template per table, column set and what it returns. */
  private insert(table: 'jobs' | 'attempts' | 'events', returning: 'id' | 'none', row: Readonly<Record<string, unknown>>): CompiledQuery {
    const columns = Object.keys(row);
    return this.templates
      .get(`insert ${table} ${returning} ${columns}`, (p) => {
        const insert = this.db.insertInto(table).values(Object.fromEntries(columns.map((c) => [c, p(c)])) as never);
        return returning === 'id' ? insert.returning('id' as never) : insert;
      })
      .fill(row);
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
    const rows = await query
      .orderBy('id', 'desc')
      .limit(filter.limit + 1)
      .execute();
    const more = rows.length > filter.limit;
    const jobs = rows.slice(0, filter.limit).map(toJob);
    return { jobs, nextCursor: more ? jobs[jobs.length - 1]!.id : null };
  }

  /** Records who asked for the stop; the first asker is kept (undefined when there was one already). */
  async setStoppedBy(jobId: string, name: string, now: number): Promise<JobRecord | undefined> {
    const rows = await this.returning(this.db.updateTable('jobs').set({ stopped_by: name }).where('id', '=', jobId).where('stopped_by', '=', '').returningAll().compile(), now);
    return rows[0];
  }

  /** One job UPDATE … RETURNING, with an event for each row it changed. */
  private async returning(query: CompiledQuery, now: number): Promise<JobRecord[]> {
    return (await this.writeJobs([query], jobsOf(0), now)).jobs;
  }

  /**
   * Job writes, and in the same transaction an event for each job they changed (`changed`,
   * read from the steps' results), so a crash never leaves a change without its event. The
   * events are handed to `onJobEvents` once committed.
   */
  private async writeJobs(
    steps: Step[],
    changed: (earlier: readonly WriteResult[]) => JobRecord[],
    now: number,
    passedThrough?: PassedThrough,
  ): Promise<{ results: WriteResult[]; jobs: JobRecord[] }> {
    let events: Omit<EventRecord, 'id'>[] = [];
    let jobs: JobRecord[] = [];
    const results = await this.writer.runRows(
      [
        ...steps,
        (earlier) => {
          // Made afresh each time: a group commit that failed runs each write again on its own.
          jobs = changed(earlier);
          events = jobs
            .flatMap((job) => [...(passedThrough?.(job) ?? []), job])
            .map((job) => ({ kind: 'job', entityId: job.id, data: JSON.stringify(jobView(job)), createdAt: now }));
          return events.map((e) => this.insert('events', 'id', { kind: e.kind, entity_id: e.entityId, data: e.data, created_at: e.createdAt } satisfies Insertable<EventsTable>));
        },
      ],
      { events: true },
    );
    const ids = results.at(-1)!.rows.map((r) => Number((r as { id: number | string }).id));
    if (events.length > 0) this.onJobEvents?.(events.map((e, i) => ({ ...e, id: ids[i]! })));
    return { results: results.slice(0, -1), jobs };
  }

  /**
   * Appends events in one transaction; their ids, increasing, in the order given. On PostgreSQL
   * appends take turns (a transaction lock), so ids become visible in order and a reader that
   * goes on after the last id it saw misses none, whichever scheduler stored them.
   */
  async appendEvents(events: readonly Omit<EventRecord, 'id'>[]): Promise<number[]> {
    if (events.length === 0) return [];
    const inserts = events.map((e) =>
      this.insert('events', 'id', { kind: e.kind, entity_id: e.entityId, data: e.data, created_at: e.createdAt } satisfies Insertable<EventsTable>),
    );
    const results = await this.writer.runRows(inserts, { events: true });
    return results.map((r) => Number((r.rows[0] as { id: number | string }).id));
  }

  /** The newest event's id; 0 when there is none. */
  async lastEventId(): Promise<number> {
    const newest = await this.db
      .selectFrom('events')
      .select((eb) => eb.fn.max('id').as('id'))
      .executeTakeFirst();
    return Number(newest?.id ?? 0);
  }

  /** Events after `afterId`, oldest first, at most `limit`. */
  async eventsAfter(afterId: number, limit: number, filter: EventFilter = {}): Promise<EventRecord[]> {
    let query = this.db.selectFrom('events').selectAll().where('id', '>', afterId);
    if (filter.entityId !== undefined) query = query.where('entity_id', '=', filter.entityId);
    if (filter.kinds !== undefined) query = query.where('kind', 'in', filter.kinds);
    const rows = await query.orderBy('id').limit(limit).execute();
    return rows.map(toEvent);
  }

  /** Deletes up to `batch` of the oldest events beyond the newest `keep`; how many went. */
  async pruneEvents(keep: number, batch: number): Promise<number> {
    const cutoff = (await this.lastEventId()) - keep;
    if (cutoff <= 0) return 0;
    const oldest = this.db.selectFrom('events').select('id').where('id', '<=', cutoff).orderBy('id').limit(batch);
    const result = await this.db.deleteFrom('events').where('id', 'in', oldest).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** Fails with ALREADY_EXISTS-style `TokenNameTaken` when a live token has this name. */
  async createToken(token: Omit<TokenRecord, 'revokedAt'>): Promise<void> {
    const taken = await this.db.selectFrom('tokens').select('id').where('name', '=', token.name).where('revoked_at', 'is', null).executeTakeFirst();
    if (taken) throw new TokenNameTaken(token.name);
    try {
      await this.db.insertInto('tokens').values({ id: token.id, name: token.name, role: token.role, hash: token.hash, created_at: token.createdAt, revoked_at: null }).execute();
    } catch (err) {
      // Two creators raced past the check above: the unique index on live names refused the second.
      if (isUniqueViolation(err)) throw new TokenNameTaken(token.name);
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
      draining_by: w.drainingBy,
    };
    const { id: _id, ...update } = values;
    await this.db
      .insertInto('workers')
      .values(values)
      .onConflict((oc) => oc.column('id').doUpdateSet(update))
      .execute();
  }

  /** Through the writer: every heartbeat lands here, and on SQLite those of one moment share a commit. */
  async setWorkerState(id: string, state: WorkerState, lastHeartbeatAt: number): Promise<void> {
    const query = this.templates.get('setWorkerState', (p) =>
      this.db
        .updateTable('workers')
        .set({ state: p<WorkerState>('state'), last_heartbeat_at: p<number>('lastHeartbeatAt') })
        .where('id', '=', p<string>('id')),
    );
    await this.writer.run([query.fill({ id, state, lastHeartbeatAt })]);
  }

  /** A heartbeat's time alone (shared store: the state is the leader's to change, and a live worker's only). */
  async touchWorker(id: string, lastHeartbeatAt: number): Promise<void> {
    const query = this.templates.get('touchWorker', (p) =>
      this.db
        .updateTable('workers')
        .set({ last_heartbeat_at: p<number>('lastHeartbeatAt') })
        .where('id', '=', p<string>('id'))
        .where('state', '=', 'up'),
    );
    await this.writer.run([query.fill({ id, lastHeartbeatAt })]);
  }

  /** `by` '' takes the worker out of draining. */
  async setWorkerDraining(id: string, by: string): Promise<void> {
    await this.db.updateTable('workers').set({ draining_by: by }).where('id', '=', id).execute();
  }

  async listWorkers(): Promise<WorkerRecord[]> {
    const rows = await this.db.selectFrom('workers').selectAll().orderBy('id').execute();
    return rows.map(toWorker);
  }
}

/** A new job as `createJobs` stores it: queued, or dispatched when it was placed before it was stored. */
export function newJobRecord(job: NewJob): JobRecord {
  const workerId = job.workerId ?? '';
  const after = job.after ?? [];
  const afterCondition = job.afterCondition ?? 'succeeded';
  return {
    ...job,
    timeoutMs: job.timeoutMs ?? 0,
    parentId: job.parentId ?? '',
    runOn: job.runOn ?? '',
    children: job.children ?? [],
    idempotencyKey: job.idempotencyKey ?? '',
    requestHash: job.requestHash ?? '',
    concurrency: job.concurrency ?? null,
    after,
    afterCondition,
    state: workerId !== '' ? 'dispatched' : after.length > 0 ? 'waiting' : 'queued',
    workerId,
    attempt: 1,
    reason: after.length > 0 ? waitReason(after, afterCondition) : '',
    nextAttemptAt: null,
    error: '',
    errorCode: '',
    exitCode: null,
    signal: '',
    outputTruncated: false,
    updatedAt: job.createdAt,
    finishedAt: null,
    stoppedBy: '',
  };
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
    errorCode: r.error_code,
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
    timeoutMs: Number(r.timeout_ms),
    parentId: r.parent_id,
    runOn: r.run_on === 'all' ? 'all' : '',
    children: JSON.parse(r.children) as string[],
    idempotencyKey: r.idempotency_key,
    requestHash: r.request_hash,
    concurrency: r.concurrency === '' ? null : (JSON.parse(r.concurrency) as ConcurrencyRule),
    after: JSON.parse(r.after) as string[],
    afterCondition: r.after_condition === 'finished' ? 'finished' : 'succeeded',
  };
}

/** The job rows step `at` returned (an UPDATE … RETURNING). */
function jobsOf(at: number): (earlier: readonly WriteResult[]) => JobRecord[] {
  return (earlier) => (earlier[at]!.rows as Selectable<JobsTable>[]).map(toJob);
}

/** A unique index refused the row: told by the driver's error code (SQLite's extended code, PostgreSQL's SQLSTATE 23505), not its words. */
function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === '23505';
}

function toEvent(r: Selectable<EventsTable>): EventRecord {
  return { id: Number(r.id), kind: r.kind, entityId: r.entity_id, data: r.data, createdAt: Number(r.created_at) };
}

/** Another job of the same submitter already has the Idempotency-Key. */
export class IdempotencyKeyTaken extends Error {
  constructor() {
    super('the Idempotency-Key is already in use');
    this.name = 'IdempotencyKeyTaken';
  }
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
    drainingBy: r.draining_by,
  };
}
