import type BetterSqlite3 from 'better-sqlite3';
import type pg from 'pg';
import type { CompiledQuery } from 'kysely';

/**
 * Runs compiled write queries in one transaction and returns the rows each changed.
 * The queries are built with Kysely either way, so the SQL is written once.
 */
export interface Writer {
  run(queries: Step[]): Promise<number[]>;
  /** The same, with the rows each step returned (UPDATE/INSERT … RETURNING; [] for the others). */
  runRows(queries: Step[], options?: WriteOptions): Promise<WriteResult[]>;
  /**
   * The same as `run`, in a transaction of its own, never grouped with others: for a large
   * write (a piece of kept output) that would make a group's one synchronous commit long.
   */
  runAlone(queries: Step[]): Promise<number[]>;
}

/**
 * A query, or queries made inside the transaction from what the earlier steps returned (an
 * event row from the job row an UPDATE … RETURNING gave back). Its result sums its queries'.
 * Must be synchronous and pure: on SQLite it runs inside a synchronous transaction.
 */
export type Step = CompiledQuery | ((earlier: readonly WriteResult[]) => CompiledQuery[]);

export interface WriteOptions {
  /**
   * The write appends events: on PostgreSQL its transaction takes the events lock first
   * (before any row lock, so that it cannot deadlock), so event ids commit in id order.
   */
  events?: boolean;
}

export interface WriteResult {
  changed: number;
  rows: unknown[];
  /**
   * SQLite: the rowid of each row an `INSERT` without `RETURNING` made, in order (the
   * driver's `lastInsertRowid`, known without reading a row back); [] otherwise.
   */
  rowIds: number[];
}

/** A write waiting for its group's commit. */
interface Pending {
  queries: Step[];
  events: boolean;
  resolve: (results: WriteResult[]) => void;
  reject: (err: unknown) => void;
}

/** The Writer around a group-commit `runRows`. */
function writerOf(runRows: Writer['runRows'], runAlone?: Writer['runAlone']): Writer {
  const run: Writer['run'] = async (queries) => (await runRows(queries)).map((r) => r.changed);
  return { runRows, run, runAlone: runAlone ?? run };
}

/** Runs the steps in order through `one` (a single query's result), inside the caller's transaction. */
function stepsWith(one: (q: CompiledQuery) => WriteResult): (steps: Step[]) => WriteResult[] {
  return (steps) => {
    const results: WriteResult[] = [];
    for (const step of steps) results.push(typeof step === 'function' ? sum(step(results).map(one)) : one(step));
    return results;
  };
}

function sum(parts: WriteResult[]): WriteResult {
  return { changed: parts.reduce((n, r) => n + r.changed, 0), rows: parts.flatMap((r) => r.rows), rowIds: parts.flatMap((r) => r.rowIds) };
}

/**
 * SQLite: the same queries as synchronous better-sqlite3 transactions over cached prepared
 * statements. Kysely's async transaction (BEGIN, prepare per query, COMMIT, a promise per
 * step) costs ~4x more, and job creation sits on the `POST /start` path.
 *
 * Group commit: the writes asked for in one turn of the event loop run in one transaction,
 * and all resolve after the one COMMIT. A busy scheduler asks for several per job (create,
 * dispatch, running, exit, events); one commit for all of them writes each touched page to the
 * WAL once instead of once per write. Should one fail, the batch is rolled back and each write
 * runs again in a transaction of its own, so a failing write rejects alone (a savepoint per
 * write would do the same at two more statements per write, every time).
 * The store opens no Kysely transaction on SQLite, so these never nest inside one.
 */
export function sqliteWriter(sqlite: BetterSqlite3.Database): Writer {
  const statements = new Map<string, BetterSqlite3.Statement>();
  const prepared = (sql: string): BetterSqlite3.Statement => {
    let stmt = statements.get(sql);
    if (!stmt) {
      stmt = sqlite.prepare(sql);
      statements.set(sql, stmt);
    }
    return stmt;
  };
  const runQueries = stepsWith((q): WriteResult => {
    const stmt = prepared(q.sql);
    const params = q.parameters as unknown[];
    if (stmt.reader) {
      const rows = stmt.all(...params);
      return { changed: rows.length, rows, rowIds: [] };
    }
    const run = stmt.run(...params);
    return { changed: run.changes, rows: [], rowIds: q.query.kind === 'InsertQueryNode' ? [Number(run.lastInsertRowid)] : [] };
  });
  const commitAll = sqlite.transaction((batch: Pending[]) => batch.map((p) => runQueries(p.queries)));
  const commit = (batch: Pending[]): void => {
    let all: WriteResult[][];
    try {
      all = commitAll(batch);
    } catch (err) {
      if (batch.length === 1) batch[0]!.reject(err);
      else for (const p of batch) commit([p]);
      return;
    }
    batch.forEach((p, i) => p.resolve(all[i]!));
  };
  let pending: Pending[] = [];
  const flush = (): void => {
    const batch = pending;
    pending = [];
    commit(batch);
  };
  const alone = sqlite.transaction((queries: Step[]) => runQueries(queries).map((r) => r.changed));
  return writerOf(
    (queries, options) =>
      new Promise((resolve, reject) => {
        if (pending.length === 0) setImmediate(flush);
        pending.push({ queries, events: options?.events ?? false, resolve, reject });
      }),
    // On a later turn of the event loop, so that what waits on the loop runs between two such writes.
    (queries) =>
      new Promise((resolve, reject) =>
        setImmediate(() => {
          try {
            resolve(alone(queries));
          } catch (err) {
            reject(err);
          }
        }),
      ),
  );
}

/**
 * PostgreSQL: group commit. The writes asked for while a commit is under way go together in
 * the next transaction on one pooled connection: one BEGIN and one COMMIT for all of them
 * instead of per write. Should one fail, the batch is rolled back and each write runs again in
 * a transaction of its own, so a failing write rejects alone.
 *
 * The statements are pipelined (the pool's connections are in pipeline mode): a transaction
 * writes every statement it can without waiting for an answer, so a group costs two round
 * trips, whatever its size: BEGIN and every query step, then the steps made from their rows
 * (the events) and COMMIT. Waiting for each answer in turn made the round trips, not the
 * server's work, what bounded a busy scheduler's write rate.
 */
export function pgGroupWriter(pool: pg.Pool, eventsLock: CompiledQuery): Writer {
  let pending: Pending[] = [];
  let flushing = false;
  const named = preparedNames();
  const inTransaction = async (batch: Pending[]): Promise<WriteResult[][]> => {
    const client = await pool.connect();
    const sent: Promise<unknown>[] = [];
    const send = (q: CompiledQuery | string): Promise<WriteResult> => {
      const query = typeof q === 'string' ? client.query(q) : client.query({ name: named(q.sql), text: q.sql, values: q.parameters as unknown[] });
      const result = query.then((r): WriteResult => ({ changed: r.rowCount ?? r.rows.length, rows: r.rows, rowIds: [] }));
      // Awaited below, maybe after it has failed: not an unhandled rejection meanwhile.
      result.catch(() => {});
      sent.push(result);
      return result;
    };
    let failed: unknown;
    try {
      void send('begin');
      if (batch.some((p) => p.events)) void send(eventsLock);
      // Every write's steps up to its first made from earlier rows, all on the wire at once; then
      // the rest, write by write in the batch's order, so events keep the order of the writes.
      const started = batch.map((p) => pipelinedUntilMade(p.queries, send));
      const all: Promise<WriteResult[]>[] = [];
      for (const [i, p] of batch.entries()) all.push((await pipelinedRest(p.queries, started[i]!, send)).results);
      // Sent before the answers: should a statement have failed, PostgreSQL answers this COMMIT with
      // a rollback, and the failure is read from that statement's answer below.
      const committed = send('commit');
      const results = await Promise.all(all);
      await committed;
      return results;
    } catch (err) {
      failed = err;
      await Promise.allSettled(sent);
      await client.query('rollback').catch(() => {});
      throw err;
    } finally {
      // A broken connection (no PostgreSQL error code) is not given back to the pool.
      client.release(failed instanceof Error && !('code' in failed) ? failed : undefined);
    }
  };
  const commit = async (batch: Pending[]): Promise<void> => {
    try {
      const all = await inTransaction(batch);
      batch.forEach((p, i) => p.resolve(all[i]!));
    } catch (err) {
      if (batch.length === 1) {
        batch[0]!.reject(err);
        return;
      }
      for (const p of batch) await commit([p]);
    }
  };
  const flush = async (): Promise<void> => {
    flushing = true;
    while (pending.length > 0) {
      const batch = pending;
      pending = [];
      await commit(batch);
    }
    flushing = false;
  };
  return writerOf(
    (queries, options) =>
      new Promise((resolve, reject) => {
        pending.push({ queries, events: options?.events ?? false, resolve, reject });
        if (!flushing) void flush();
      }),
    // A transaction of its own on another pooled connection, beside the group commits.
    async (queries) => (await inTransaction([{ queries, events: false, resolve: () => {}, reject: () => {} }]))[0]!.map((r) => r.changed),
  );
}

/** Sends the steps up to the first one made from earlier rows; their results, in order. */
function pipelinedUntilMade(steps: Step[], send: (q: CompiledQuery) => Promise<WriteResult>): Promise<WriteResult>[] {
  const results: Promise<WriteResult>[] = [];
  for (const step of steps) {
    if (typeof step === 'function') break;
    results.push(send(step));
  }
  return results;
}

/**
 * Sends the steps after those `pipelinedUntilMade` sent, each made from the rows before it once
 * they are in; resolves once all are sent, to their results (wrapped, so as not to wait for them).
 */
async function pipelinedRest(steps: Step[], started: Promise<WriteResult>[], send: (q: CompiledQuery) => Promise<WriteResult>): Promise<{ results: Promise<WriteResult[]> }> {
  const results = [...started];
  for (const step of steps.slice(started.length)) {
    if (typeof step !== 'function') results.push(send(step));
    else {
      const earlier = await Promise.all(results);
      results.push(Promise.all(step(earlier).map(send)).then(sum));
    }
  }
  const all = Promise.all(results);
  all.catch(() => {}); // read by the caller after it has sent the rest of the batch
  return { results: all };
}

/** Distinct statements prepared by name; past this, a statement is sent unnamed (parsed each time). */
const PREPARED_MAX = 256;

/**
 * A name per distinct statement text: node-postgres prepares a named statement once per
 * connection and then only binds and executes it, where an unnamed one is parsed and planned
 * by the server every time (and the server shares the scheduler's cores). The writes are a
 * few dozen templates. A list goes in as one parameter (`SqlContext.among`), not as `IN (…)`,
 * whose text, and name, would change with its length until the cap.
 */
function preparedNames(): (sql: string) => string | undefined {
  const names = new Map<string, string>();
  return (sql) => {
    let name = names.get(sql);
    if (name === undefined && names.size < PREPARED_MAX) names.set(sql, (name = `baton_w${names.size}`));
    return name;
  };
}
