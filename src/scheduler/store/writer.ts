import type BetterSqlite3 from 'better-sqlite3';
import type { CompiledQuery, Kysely } from 'kysely';
import type { Database } from './schema.js';

/**
 * Runs compiled write queries in one transaction and returns the rows each changed.
 * The queries are built with Kysely either way, so the SQL is written once.
 */
export interface Writer {
  run(queries: CompiledQuery[]): Promise<number[]>;
}

/** Any dialect: a Kysely transaction. */
export function kyselyWriter(db: Kysely<Database>): Writer {
  return {
    run: (queries) =>
      db.transaction().execute(async (trx) => {
        const changed: number[] = [];
        for (const q of queries) changed.push(Number((await trx.executeQuery(q)).numAffectedRows ?? 0n));
        return changed;
      }),
  };
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
  const runAll = sqlite.transaction((queries: CompiledQuery[]) => queries.map((q) => prepared(q.sql).run(...(q.parameters as unknown[])).changes));
  return {
    run: (queries) => {
      try {
        return Promise.resolve(runAll(queries));
      } catch (err) {
        return Promise.reject(err);
      }
    },
  };
}
