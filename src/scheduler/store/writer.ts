import type BetterSqlite3 from 'better-sqlite3';
import type { CompiledQuery, Kysely } from 'kysely';
import type { Database } from './schema.js';

/**
 * Runs compiled write queries in one transaction and returns the rows each changed.
 * The queries are built with Kysely either way, so the SQL is written once.
 */
export interface Writer {
  run(queries: CompiledQuery[]): Promise<number[]>;
  /** The same, with the rows each query returned (UPDATE/INSERT … RETURNING; [] for the others). */
  runRows(queries: CompiledQuery[]): Promise<WriteResult[]>;
}

export interface WriteResult {
  changed: number;
  rows: unknown[];
}

/** Any dialect: a Kysely transaction. */
export function kyselyWriter(db: Kysely<Database>): Writer {
  const runRows = (queries: CompiledQuery[]): Promise<WriteResult[]> =>
    db.transaction().execute(async (trx) => {
      const results: WriteResult[] = [];
      for (const q of queries) {
        const r = await trx.executeQuery(q);
        results.push({ changed: Number(r.numAffectedRows ?? BigInt(r.rows.length)), rows: r.rows });
      }
      return results;
    });
  return { runRows, run: async (queries) => (await runRows(queries)).map((r) => r.changed) };
}

/**
 * SQLite: the same queries as synchronous better-sqlite3 transactions over cached prepared
 * statements. Kysely's async transaction (BEGIN, prepare per query, COMMIT, a promise per
 * step) costs ~4x more, and job creation sits on the `POST /start` path.
 *
 * Group commit: the writes asked for in one turn of the event loop run in one transaction,
 * each inside its own savepoint (a failing one rolls back alone and rejects alone), and all
 * resolve after the one COMMIT. A busy scheduler asks for several per job (create, dispatch,
 * running, exit, events); one commit for all of them writes each touched page to the WAL
 * once instead of once per write.
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
  // Called inside `commitAll`'s transaction, better-sqlite3 makes this a savepoint.
  const runOne = sqlite.transaction((queries: CompiledQuery[]) =>
    queries.map((q): WriteResult => {
      const stmt = prepared(q.sql);
      const params = q.parameters as unknown[];
      if (!stmt.reader) return { changed: stmt.run(...params).changes, rows: [] };
      const rows = stmt.all(...params);
      return { changed: rows.length, rows };
    }),
  );
  interface Pending {
    queries: CompiledQuery[];
    resolve: (results: WriteResult[]) => void;
    reject: (err: unknown) => void;
    outcome?: { ok: true; results: WriteResult[] } | { ok: false; err: unknown };
  }
  let pending: Pending[] = [];
  const commitAll = sqlite.transaction((batch: Pending[]) => {
    for (const p of batch) {
      try {
        p.outcome = { ok: true, results: runOne(p.queries) };
      } catch (err) {
        p.outcome = { ok: false, err };
      }
    }
  });
  const flush = (): void => {
    const batch = pending;
    pending = [];
    try {
      commitAll(batch);
    } catch (err) {
      for (const p of batch) p.reject(err); // the COMMIT itself failed: nothing of the batch is stored
      return;
    }
    for (const p of batch) {
      if (p.outcome!.ok) p.resolve(p.outcome!.results);
      else p.reject(p.outcome!.err);
    }
  };
  const runRows = (queries: CompiledQuery[]): Promise<WriteResult[]> =>
    new Promise((resolve, reject) => {
      if (pending.length === 0) setImmediate(flush);
      pending.push({ queries, resolve, reject });
    });
  return { runRows, run: async (queries) => (await runRows(queries)).map((r) => r.changed) };
}
