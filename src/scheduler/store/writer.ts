import type BetterSqlite3 from 'better-sqlite3';
import type pg from 'pg';
import type { CompiledQuery } from 'kysely';
import { planMerges, type MergeTraits } from './merge-plan.js';

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
export type Step = Query | ((earlier: readonly WriteResult[]) => Query[]);

export type Query = CompiledQuery | Mergeable;

/**
 * A query that PostgreSQL's group commit may run as one statement with the queries of its kind
 * from the other writes of the group (merge-plan.ts says when): the status updates, output
 * checks and event inserts each job makes, a statement per group where there was one per job.
 * Whoever makes it knows both forms; SQLite only runs `alone`. Its `kind` is the text of `many`;
 * its `key` the rows it touches (a job's: its id; none for an insert of new rows); `chars` the
 * length of its rows.
 */
export interface Mergeable extends MergeTraits {
  /** The query by itself, when no other of its kind is in its statement. */
  alone: CompiledQuery;
  /** Its values, each row a JSON object, read by `many` from one array. */
  rows: readonly string[];
  /** The statement for the rows of several, from their JSON array. */
  many: (rows: string) => CompiledQuery;
  /**
   * How a result of `many` is shared out: 'ordinal', each row it returns carries `baton_n`, the
   * place (from 1) in the array of the row it came from; 'key', each carries `baton_key`, the
   * `key` of the query whose row it is; 'in order', an insert whose ids come back ascending in
   * the array's order, as many to each query as it has rows.
   */
  split: 'ordinal' | 'key' | 'in order';
  /** Whether `alone` returns rows (a SELECT, or RETURNING); a query that does not is given none. */
  returnsRows: boolean;
}

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

/**
 * The ids of the rows an insert of events wrote (`SqlContext.insertEvents`), in the rows'
 * order: returned rows' ids (PostgreSQL) or rowids (SQLite). The events lock makes a
 * transaction's ids ascending in the order it inserts, and a statement inserts its rows in
 * their array's order; RETURNING's order is not promised, so they are sorted. A merged insert's
 * result is shared out by the same order.
 */
export function idsOf(results: readonly WriteResult[]): number[] {
  return results.flatMap((r) => [...r.rows.map((row) => Number((row as { id: number | string }).id)), ...r.rowIds]).sort((a, b) => a - b);
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

/** Runs the steps in order through `one` (a single query's result), inside the caller's transaction; merged or not, a query runs alone. */
function stepsWith(one: (q: CompiledQuery) => WriteResult): (steps: Step[]) => WriteResult[] {
  const each = (q: Query): WriteResult => one(isMergeable(q) ? q.alone : q);
  return (steps) => {
    const results: WriteResult[] = [];
    for (const step of steps) results.push(typeof step === 'function' ? sum(step(results).map(each)) : each(step));
    return results;
  };
}

function isMergeable(q: Query): q is Mergeable {
  return 'alone' in q;
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
 * writes every statement it can without waiting for an answer, so a group costs a round trip
 * per step made from earlier rows, whatever its size: BEGIN and every write's first query steps,
 * then the steps made from their rows (the events) and COMMIT. Waiting for each answer in turn
 * made the round trips, not the server's work, what bounded a busy scheduler's write rate.
 * Mergeable queries of a kind go as one statement (merge-plan.ts): per statement, the client
 * and the server spent more than on each row it writes.
 */
/** A table scan only where no index serves (discouraged, not forbidden). */
const KEYED_PLANS = 'set local enable_seqscan = off';

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
      // Every write here finds its rows by key. Without statistics (a new store, before
      // autovacuum's first analyze, a minute in) or with ones a burst has made stale (no row
      // queued when analysed), the planner reckons the state filter leaves one row and scans the
      // table against every row of a merged statement's values: 64 ms for 600 jobs, not 7.
      void send(KEYED_PLANS);
      if (batch.some((p) => p.events)) void send(eventsLock);
      const results: WriteResult[][] = batch.map(() => []);
      const next = batch.map(() => 0);
      for (;;) {
        // A round: each write's steps up to its next one made from earlier rows, made now from
        // the rows of the rounds before; all on the wire at once, in the batch's order.
        const round: { write: number; step: number; query: Query }[] = [];
        for (const [write, p] of batch.entries()) {
          const first = next[write]!;
          for (let step = first; step < p.queries.length; step++) {
            const made = p.queries[step]!;
            if (typeof made === 'function' && step > first) break;
            const queries = typeof made === 'function' ? made(results[write]!) : [made];
            // A step that makes no query still has its (empty) result.
            if (queries.length === 0) results[write]![step] = sum([]);
            for (const query of queries) round.push({ write, step, query });
            next[write] = step + 1;
          }
        }
        const answers = sendMerged(
          round.map((r) => r.query),
          send,
        );
        // Sent before the answers: should a statement have failed, PostgreSQL answers this COMMIT with
        // a rollback, and the failure is read from that statement's answer below.
        const last = batch.every((p, write) => next[write] === p.queries.length);
        const committed = last ? send('commit') : undefined;
        const parts = await answers;
        for (const [i, { write, step }] of round.entries()) {
          const earlier = results[write]![step];
          results[write]![step] = earlier ? sum([earlier, parts[i]!]) : parts[i]!;
        }
        if (committed) {
          await committed;
          return results;
        }
      }
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

/** Rows of the JSON array of one merged statement, in characters: far below PostgreSQL's 1 GB for a value. */
export const MERGED_CHARS = 8 * 1024 * 1024;

/**
 * Sends the queries, those merge-plan.ts puts together as one statement each; resolves to each
 * query's result, in order, once all are answered (not waited for before the last is sent).
 */
function sendMerged(queries: readonly Query[], send: (q: CompiledQuery) => Promise<WriteResult>): Promise<WriteResult[]> {
  const plan = planMerges(
    queries.map((q) => (isMergeable(q) ? q : undefined)),
    MERGED_CHARS,
  );
  const answers = plan.map((members) => {
    const first = queries[members[0]!]!;
    if (!isMergeable(first)) return send(first);
    if (members.length === 1) return send(first.alone);
    return send(first.many(`[${members.flatMap((i) => (queries[i] as Mergeable).rows).join(',')}]`));
  });
  // A promise per statement, not per query: a group holds thousands of queries.
  return Promise.all(answers).then((answered) => {
    const results: WriteResult[] = new Array(queries.length);
    for (const [k, members] of plan.entries()) {
      if (members.length === 1) results[members[0]!] = answered[k]!;
      else
        for (const [j, share] of shareOut(
          members.map((i) => queries[i] as Mergeable),
          answered[k]!,
        ).entries())
          results[members[j]!] = share;
    }
    return results;
  });
}

/** A merged statement's result, as each of its queries would have had it alone. */
function shareOut(queries: readonly Mergeable[], result: WriteResult): WriteResult[] {
  if (queries[0]!.split === 'in order') {
    const ids = idsOf([result]);
    let at = 0;
    return queries.map((q) => {
      const rows = ids.slice(at, (at += q.rows.length)).map((id) => ({ id }));
      return { changed: rows.length, rows, rowIds: [] };
    });
  }
  const rows: unknown[][] = queries.map(() => []);
  if (queries[0]!.split === 'key') {
    // A statement never holds a key twice (merge-plan.ts).
    const byKey = new Map(queries.map((q, i) => [q.key, i]));
    for (const row of result.rows) rows[byKey.get((row as { baton_key: string }).baton_key)!]!.push(row);
  } else {
    // baton_n (from 1) → the query whose row it is.
    const owner: number[] = [];
    for (const [i, q] of queries.entries()) for (let k = 0; k < q.rows.length; k++) owner.push(i);
    for (const row of result.rows) rows[owner[Number((row as { baton_n: number | string }).baton_n) - 1]!]!.push(row);
  }
  return queries.map((q, i) => ({ changed: rows[i]!.length, rows: q.returnsRows ? rows[i]! : [], rowIds: [] }));
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
