import { sql, type CompiledQuery, type Insertable, type Selectable } from 'kysely';
import { jobView } from '../http/views.js';
import { FINAL_STATES, fromStates, isFinal, JOB_STATES, type JobStateName, type TransitionName } from '../job-state.js';
import type { ConcurrencyRule } from '../concurrency.js';
import { DEFAULT_RETRY, type RetryPolicy } from '../retry-policy.js';
import type { EventRecord } from './event-store.js';
import {
  IdempotencyKeyTaken,
  TickTaken,
  newJobRecord,
  type ApplyResult,
  type AttemptRecord,
  type JobFilter,
  type JobRecord,
  type JobStore,
  type NewJob,
  type PassedThrough,
  type SandboxRequest,
  type StatusUpdate,
} from './job-store.js';
import { PlacedRecords } from './placed-records.js';
import type { AttemptsTable, JobsTable } from './schema.js';
import { isUniqueViolation, type SqlContext } from './sql.js';
import { idsOf, type Step, type WriteResult } from './writer.js';

/** The values of a status write (`applyStatus`) and their SQL types, for its merged form (`SqlContext.mergeable`). */
const STATUS_VALUES = {
  jobId: 'text',
  attempt: 'integer',
  workerId: 'text',
  now: 'bigint',
  finishedAt: 'bigint',
  exitCode: 'integer',
  signal: 'text',
  error: 'text',
  errorCode: 'text',
  outputTruncated: 'integer',
  startedAt: 'bigint',
  reason: 'text',
};
/** The same for `markDispatched`. */
const DISPATCH_VALUES = { jobId: 'text', attempt: 'integer', workerId: 'text', now: 'bigint' };

/** Every state but the final ones. */
const UNFINISHED_STATES = JOB_STATES.filter((state) => !FINAL_STATES.includes(state));

/**
 * The job port on SQLite and PostgreSQL, and the only place job and attempt rows are written.
 * Each write stores, in its own transaction, an event for every job it changed, so a crash
 * never leaves a change without its event.
 */
export class SqlJobStore implements JobStore {
  /** Placed jobs' records, for their fixed fields only. */
  readonly #placed = new PlacedRecords();

  constructor(
    private readonly ctx: SqlContext,
    /** Told of the events each job write stored, once committed, in commit order. */
    private readonly committed: (events: EventRecord[]) => void,
  ) {}

  async createJob(job: NewJob): Promise<JobRecord> {
    const [created] = await this.createJobs([job]);
    return created!;
  }

  async createJobs(jobs: readonly NewJob[]): Promise<JobRecord[]> {
    const records = jobs.map(newJobRecord);
    // The rows are exactly the records: nothing is read back. The jobs go before their attempts,
    // which reference them. On SQLite, rows and queries are made inside the transaction (a
    // step): made before it, a batch's (~1 KB a job) were alive until its commit, across the
    // other batches' work, and survived into the old space. On PostgreSQL they are made now, to
    // go out with BEGIN (the pipelined writer sends a step made inside only after the ones before).
    const insert = (): CompiledQuery[] => [
      ...this.ctx.insertMany('jobs', 'none', 'job', records.map(jobRow)),
      ...this.ctx.insertMany('attempts', 'none', 'attempt', records.filter((job) => job.runOn !== 'all').map(attemptRow)),
    ];
    try {
      await this.#writeJobs(this.ctx.dialect === 'sqlite' ? [insert] : insert(), () => records, records[0]?.createdAt ?? Date.now());
    } catch (err) {
      if (isUniqueViolation(err) && jobs.some((j) => j.scheduledFor)) throw new TickTaken();
      if (isUniqueViolation(err) && jobs.some((j) => j.idempotencyKey)) throw new IdempotencyKeyTaken();
      throw err;
    }
    for (const job of records) if (job.workerId !== '') this.#placed.add(job);
    return records;
  }

  async findByIdempotencyKey(submittedBy: string, key: string): Promise<JobRecord | undefined> {
    const row = await this.ctx.db.selectFrom('jobs').selectAll().where('submitted_by', '=', submittedBy).where('idempotency_key', '=', key).executeTakeFirst();
    return row && toJob(row);
  }

  async childStates(parentId: string): Promise<JobStateName[]> {
    const rows = await this.ctx.db.selectFrom('jobs').select('state').where('parent_id', '=', parentId).execute();
    return rows.map((r) => r.state as JobStateName);
  }

  async setParentState(id: string, state: JobStateName, now: number): Promise<JobRecord | undefined> {
    const from = fromStates('summarise', state);
    if (from.length === 0) return undefined;
    const rows = await this.#returning(
      this.ctx.db
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

  /** The check is part of each UPDATE (`state IN from`), so two reporters racing on one job cannot both move it, in either dialect. */
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
    // A placed job's fixed fields are known: only the ones a write may change are read back.
    const placed = this.#placed.get(jobId);
    const { jobs } = await this.#writeJobs(
      [
        this.ctx
          .mergeable(`applyStatus jobs ${placed ? 'changing' : 'all'} ${shape}`, STATUS_VALUES, (p, rows) => {
            const update = this.ctx.db
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
              .where('state', 'in', from);
            // Merged (`rows`: UPDATE … FROM the values), `*` would also return the values' columns.
            const returning = placed ? update.returning(CHANGING_COLUMNS) : rows ? update.returningAll('jobs') : update.returningAll();
            return rows ? returning.from(rows.table).returning(rows.ordinal) : returning;
          })
          .fill(values, jobId),
        this.ctx
          .mergeable(`applyStatus attempts ${shape}`, STATUS_VALUES, (p, rows) => {
            const update = this.#attemptUpdateQuery(p('jobId'), p('attempt'), p('workerId'), from, {
              ...outcome(p),
              ...(given('startedAt') && { started_at: sql<number>`coalesce(started_at, ${p<number>('startedAt')})` }),
            });
            return rows ? update.from(rows.table).returning(rows.ordinal) : update;
          })
          .fill(values, jobId),
      ],
      placed ? (earlier) => (earlier[0]!.rows as ChangingRow[]).map((r) => withChanges(placed, r)) : jobsOf(0),
      now,
      passedThrough,
    );
    const changed = jobs[0];
    if (changed) {
      if (isFinal(changed.state)) this.#placed.delete(jobId);
      return { applied: true, job: changed };
    }
    const row = await this.ctx.db.selectFrom('jobs').select('state').where('id', '=', jobId).where('attempt', '=', attempt).where('worker_id', '=', workerId).executeTakeFirst();
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
    const { jobs } = await this.#writeJobs(
      [
        this.ctx
          .mergeable('markDispatched jobs', DISPATCH_VALUES, (p, rows) => {
            const update = this.ctx.db
              .updateTable('jobs')
              .set({ state: 'dispatched', worker_id: p('workerId'), reason: '', next_attempt_at: null, updated_at: p('now') })
              .where('id', '=', p<string>('jobId'))
              .where('attempt', '=', p<number>('attempt'))
              .where('state', 'in', from);
            // Merged (`rows`: UPDATE … FROM the values), `*` would also return the values' columns.
            return rows ? update.returningAll('jobs').from(rows.table).returning(rows.ordinal) : update.returningAll();
          })
          .fill(values, jobId),
        this.ctx
          .mergeable('markDispatched attempts', DISPATCH_VALUES, (p, rows) => {
            const update = this.#attemptUpdateQuery(p('jobId'), p('attempt'), '', from, { state: 'dispatched', worker_id: p('workerId') });
            return rows ? update.from(rows.table).returning(rows.ordinal) : update;
          })
          .fill(values, jobId),
      ],
      jobsOf(0),
      now,
    );
    if (jobs[0]) this.#placed.add(jobs[0]);
    return jobs[0];
  }

  async returnToQueue(jobId: string, attempt: number, workerId: string, reason: string, now: number): Promise<JobRecord | undefined> {
    const from = fromStates('unplace', 'queued');
    const { jobs } = await this.#writeJobs(
      [
        this.ctx.db
          .updateTable('jobs')
          .set({ state: 'queued', worker_id: '', reason, updated_at: now })
          .where('id', '=', jobId)
          .where('attempt', '=', attempt)
          .where('worker_id', '=', workerId)
          .where('state', 'in', from)
          .returningAll()
          .compile(),
        this.#attemptUpdate(jobId, attempt, workerId, from, { state: 'queued', worker_id: '' }),
      ],
      jobsOf(0),
      now,
    );
    if (jobs[0]) this.#placed.delete(jobId);
    return jobs[0];
  }

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
    const live = (q: ReturnType<typeof this.ctx.db.updateTable<'jobs'>>) =>
      q.where('id', '=', jobId).where('attempt', '=', attempt).where('worker_id', '=', workerId).where('state', 'in', from);
    const {
      results: [locked, inserted],
      jobs,
    } = await this.#writeJobs(
      [
        // Lock the job row first, as applyStatus does (jobs, then attempts): on PostgreSQL the
        // attempts INSERT below takes a key-share lock on the job through its foreign key, and
        // taking the row lock after it, against an applyStatus in flight, deadlocked (40P01).
        live(this.ctx.db.updateTable('jobs').set({ attempt })).compile(),
        // Only while the attempt is the job's live one: the same condition as the UPDATE below, in the same transaction.
        this.ctx.db
          .insertInto('attempts')
          .columns(['job_id', 'number', 'worker_id', 'state', 'created_at'])
          .expression(
            this.ctx.db
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
        this.#attemptUpdate(jobId, attempt, workerId, from, {
          state: update.state,
          // An end folded with its running report (status-burst.ts) brings the start time the running write would have set.
          ...(update.startedAt !== undefined && { started_at: sql<number>`coalesce(started_at, ${update.startedAt})` }),
          finished_at: update.finishedAt || now,
          ...(update.exitCode !== undefined && { exit_code: update.exitCode }),
          ...(update.signal !== undefined && { signal: update.signal }),
          ...(update.error !== undefined && { error: update.error }),
        }),
        live(
          this.ctx.db.updateTable('jobs').set({
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
    this.#placed.delete(jobId);
    return jobs[0];
  }

  async setReason(jobId: string, attempt: number, reason: string, now: number): Promise<JobRecord | undefined> {
    const rows = await this.#returning(
      this.ctx.db.updateTable('jobs').set({ reason }).where('id', '=', jobId).where('attempt', '=', attempt).where('state', '=', 'queued').returningAll().compile(),
      now,
    );
    return rows[0];
  }

  async listActiveJobs(): Promise<JobRecord[]> {
    const rows = await this.ctx.db.selectFrom('jobs').selectAll().where('state', 'not in', FINAL_STATES).where('run_on', '=', '').orderBy('id').execute();
    return rows.map(toJob);
  }

  async pruneJobs(finishedBefore: number, batch: number): Promise<string[]> {
    const { db, writer } = this.ctx;
    // A job an unfinished one depends on stays: its state decides whether, and when, that one runs.
    const waits = await db.selectFrom('jobs').select('after').where('state', 'in', UNFINISHED_STATES).where('after', '<>', '[]').execute();
    const dependedOn = new Set(waits.flatMap((r) => JSON.parse(r.after) as string[]));
    // As many more as are kept, so that kept ones at the front never fill the batch.
    const rows = await db
      .selectFrom('jobs')
      .select('id')
      .where('finished_at', '<', finishedBefore)
      .where('state', 'in', FINAL_STATES)
      .orderBy('finished_at')
      .orderBy('id')
      .limit(batch + dependedOn.size)
      .execute();
    const ids = rows
      .map((r) => r.id)
      .filter((id) => !dependedOn.has(id))
      .slice(0, batch);
    if (ids.length === 0) return [];
    await writer.run([
      db.deleteFrom('attempts').where(this.ctx.among('job_id', ids)).compile(),
      db.deleteFrom('events').where('kind', '=', 'job').where(this.ctx.among('entity_id', ids)).compile(),
      db.deleteFrom('jobs').where(this.ctx.among('id', ids)).compile(),
    ]);
    return ids;
  }

  /** An index-only count. */
  async countQueued(): Promise<number> {
    const row = await this.ctx.db
      .selectFrom('jobs')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('state', '=', 'queued')
      .where('run_on', '=', '')
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async countJobsByState(): Promise<Map<string, number>> {
    const rows = await this.ctx.db
      .selectFrom('jobs')
      .select(['state', (eb) => eb.fn.countAll().as('n')])
      .groupBy('state')
      .execute();
    // PostgreSQL's count(*) comes back as a string.
    return new Map(rows.map((r) => [r.state, Number(r.n)]));
  }

  #attemptUpdate(jobId: string, attempt: number, workerId: string, from: readonly JobStateName[], set: Partial<Record<keyof AttemptsTable, unknown>>) {
    return this.#attemptUpdateQuery(jobId, attempt, workerId, from, set).compile();
  }

  #attemptUpdateQuery(jobId: string, attempt: number, workerId: string, from: readonly JobStateName[], set: Partial<Record<keyof AttemptsTable, unknown>>) {
    return this.ctx.db
      .updateTable('attempts')
      .set(set as never)
      .where('job_id', '=', jobId)
      .where('number', '=', attempt)
      .where('worker_id', '=', workerId)
      .where('state', 'in', from);
  }

  async getJobs(ids: readonly string[]): Promise<JobRecord[]> {
    if (ids.length === 0) return [];
    const rows = await this.ctx.db.selectFrom('jobs').selectAll().where(this.ctx.among('id', ids)).execute();
    return rows.map(toJob);
  }

  async getJob(id: string): Promise<{ job: JobRecord; attempts: AttemptRecord[] } | undefined> {
    const row = await this.ctx.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    const attempts = await this.ctx.db.selectFrom('attempts').selectAll().where('job_id', '=', id).orderBy('number').execute();
    return { job: toJob(row), attempts: attempts.map(toAttempt) };
  }

  async listJobs(filter: JobFilter): Promise<{ jobs: JobRecord[]; nextCursor: string | null }> {
    let query = this.ctx.db.selectFrom('jobs').select(LISTED_COLUMNS);
    // `<> ''`: what the partial indexes hold (a name or schedule filter is never empty).
    if (filter.name !== undefined) query = query.where('name', '=', filter.name).where('name', '<>', '');
    if (filter.state !== undefined) query = query.where('state', '=', filter.state);
    if (filter.workerId !== undefined) query = query.where('worker_id', '=', filter.workerId);
    if (filter.schedule !== undefined) query = query.where('schedule', '=', filter.schedule).where('schedule', '<>', '');
    // `after` is a JSON list: the id, quoted, is in it; LIKE's wildcards in the id are escaped (with '!', the same in both dialects).
    if (filter.after !== undefined) query = query.where(sql<boolean>`${sql.ref('after')} like ${`%${JSON.stringify(filter.after).replace(/[!%_]/g, '!$&')}%`} escape '!'`);
    if (filter.cursor !== undefined) query = query.where('id', '<', filter.cursor);
    const rows = await query
      .orderBy('id', 'desc')
      .limit(filter.limit + 1)
      .execute();
    const more = rows.length > filter.limit;
    const jobs = rows.slice(0, filter.limit).map(toJob);
    return { jobs, nextCursor: more ? jobs[jobs.length - 1]!.id : null };
  }

  async setStoppedBy(jobId: string, name: string, now: number): Promise<JobRecord | undefined> {
    const rows = await this.#returning(
      this.ctx.db.updateTable('jobs').set({ stopped_by: name }).where('id', '=', jobId).where('stopped_by', '=', '').returningAll().compile(),
      now,
    );
    return rows[0];
  }

  /** One job UPDATE … RETURNING, with an event for each row it changed. */
  async #returning(query: CompiledQuery, now: number): Promise<JobRecord[]> {
    return (await this.#writeJobs([query], jobsOf(0), now)).jobs;
  }

  /**
   * Job writes, and in the same transaction an event for each job they changed (`changed`,
   * read from the steps' results), so a crash never leaves a change without its event. The
   * events are handed to `committed` once committed.
   */
  async #writeJobs(
    steps: Step[],
    changed: (earlier: readonly WriteResult[]) => JobRecord[],
    now: number,
    passedThrough?: PassedThrough,
  ): Promise<{ results: WriteResult[]; jobs: JobRecord[] }> {
    // Their ids are set once known, in place: a copy of each would be alive until announced.
    let events: EventRecord[] = [];
    let jobs: JobRecord[] = [];
    const results = await this.ctx.writer.runRows(
      [
        ...steps,
        (earlier) => {
          // Made afresh each time: a group commit that failed runs each write again on its own.
          jobs = changed(earlier);
          events = (passedThrough ? jobs.flatMap((job) => [...passedThrough(job), job]) : jobs).map((job) => ({
            id: 0,
            kind: 'job',
            entityId: job.id,
            data: JSON.stringify(jobView(job)),
            createdAt: now,
          }));
          return this.ctx.insertEvents(events);
        },
      ],
      { events: true },
    );
    const ids = idsOf([results.at(-1)!]);
    for (const [i, e] of events.entries()) e.id = ids[i]!;
    if (events.length > 0) this.committed(events);
    return { results: results.slice(0, -1), jobs };
  }
}

/** A new job's row: each written out whole, in the table's column order (no spread adding its fields one at a time), as this runs for every job submitted. */
function jobRow(job: JobRecord): Insertable<JobsTable> {
  return {
    id: job.id,
    state: job.state,
    worker_id: job.workerId,
    command: job.command,
    path: job.path,
    args: JSON.stringify(job.args),
    env: JSON.stringify(job.env),
    cwd: job.cwd,
    error: '',
    error_code: '',
    exit_code: null,
    signal: '',
    output_truncated: 0,
    created_at: job.createdAt,
    updated_at: job.updatedAt,
    finished_at: null,
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
    schedule: job.schedule,
    scheduled_for: job.scheduledFor,
    name: job.name,
    stdin: job.stdin,
    stdin_bytes: job.stdinBytes,
    concurrency: job.concurrency ? JSON.stringify(job.concurrency) : '',
    after: JSON.stringify(job.after),
    after_condition: job.afterCondition,
  };
}

/** A new job's first attempt's row. */
function attemptRow(job: JobRecord): Insertable<AttemptsTable> {
  return {
    job_id: job.id,
    number: 1,
    worker_id: job.workerId,
    state: job.state,
    exit_code: null,
    signal: '',
    error: '',
    created_at: job.createdAt,
    started_at: null,
    finished_at: null,
  };
}

/** Every jobs column but `stdin` (up to MAX_STDIN_BYTES a job): what a page of jobs reads. The type keeps it complete. */
const LISTED: Record<Exclude<keyof JobsTable, 'stdin'>, true> = {
  id: true,
  state: true,
  worker_id: true,
  command: true,
  path: true,
  args: true,
  env: true,
  cwd: true,
  error: true,
  error_code: true,
  exit_code: true,
  signal: true,
  output_truncated: true,
  created_at: true,
  updated_at: true,
  finished_at: true,
  submitted_by: true,
  stopped_by: true,
  labels: true,
  priority: true,
  retry: true,
  pinned_worker: true,
  reason: true,
  attempt: true,
  next_attempt_at: true,
  sandbox: true,
  timeout_ms: true,
  parent_id: true,
  run_on: true,
  children: true,
  idempotency_key: true,
  request_hash: true,
  schedule: true,
  scheduled_for: true,
  name: true,
  stdin_bytes: true,
  concurrency: true,
  after: true,
  after_condition: true,
};
const LISTED_COLUMNS = Object.keys(LISTED) as (keyof typeof LISTED)[];

function toJob(r: Omit<Selectable<JobsTable>, 'stdin'> & { stdin?: string }): JobRecord {
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
    schedule: r.schedule,
    scheduledFor: r.scheduled_for === null ? null : Number(r.scheduled_for),
    concurrency: r.concurrency === '' ? null : (JSON.parse(r.concurrency) as ConcurrencyRule),
    after: JSON.parse(r.after) as string[],
    afterCondition: r.after_condition === 'finished' ? 'finished' : 'succeeded',
    name: r.name,
    stdin: r.stdin ?? '',
    stdinBytes: Number(r.stdin_bytes),
  };
}

/** The job rows step `at` returned (an UPDATE … RETURNING). */
function jobsOf(at: number): (earlier: readonly WriteResult[]) => JobRecord[] {
  return (earlier) => (earlier[at]!.rows as Selectable<JobsTable>[]).map(toJob);
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

/**
 * The columns a write may change after a job is created; every other one (command, arguments,
 * environment, labels, stdin…) is fixed from its insert on.
 */
const CHANGING = {
  state: true,
  worker_id: true,
  error: true,
  error_code: true,
  exit_code: true,
  signal: true,
  output_truncated: true,
  updated_at: true,
  finished_at: true,
  stopped_by: true,
  reason: true,
  attempt: true,
  next_attempt_at: true,
} satisfies Partial<Record<keyof JobsTable, true>>;
const CHANGING_COLUMNS = Object.keys(CHANGING) as (keyof typeof CHANGING)[];
type ChangingRow = Pick<Selectable<JobsTable>, keyof typeof CHANGING>;

/** The job as stored: `fixed`'s fixed fields with the changing ones read back (a clone of its shape, then set in place). */
function withChanges(fixed: JobRecord, r: ChangingRow): JobRecord {
  return {
    ...fixed,
    state: r.state as JobStateName,
    workerId: r.worker_id,
    error: r.error,
    errorCode: r.error_code,
    exitCode: r.exit_code,
    signal: r.signal,
    outputTruncated: r.output_truncated !== 0,
    updatedAt: r.updated_at,
    finishedAt: r.finished_at,
    stoppedBy: r.stopped_by,
    reason: r.reason,
    attempt: r.attempt,
    nextAttemptAt: r.next_attempt_at,
  };
}
