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
 * SQLite: the same queries as a synchronous better-sqlite3 transaction over cached
 * prepared statements. Kysely's async transaction (BEGIN, prepare per query, COMMIT, a
 * promise per step) costs ~4x more, and job creation sits on the `POST /start` path.
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
  const runAll = sqlite.transaction((queries: CompiledQuery[]) =>
    queries.map((q): WriteResult => {
      const stmt = prepared(q.sql);
      const params = q.parameters as unknown[];
      if (!stmt.reader) return { changed: stmt.run(...params).changes, rows: [] };
      const rows = stmt.all(...params);
      return { changed: rows.length, rows };
    }),
  );
  const runRows = (queries: CompiledQuery[]): Promise<WriteResult[]> => {
    try {
      return Promise.resolve(runAll(queries));
    } catch (err) {
      return Promise.reject(err);
    }
  };
  return { runRows, run: async (queries) => (await runRows(queries)).map((r) => r.changed) };
}
