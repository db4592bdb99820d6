import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import type { Database } from './schema.js';
import { migrationProvider } from './migrations.js';
import { kyselyWriter, sqliteWriter, type Writer } from './writer.js';

export type Dialect = 'sqlite' | 'postgres';

/**
 * Opens the database a store URL names and brings its schema up to date:
 * `sqlite:<file>` (or `sqlite::memory:`) or `postgres://…` / `postgresql://…`.
 */
export interface Connection {
  db: Kysely<Database>;
  dialect: Dialect;
  writer: Writer;
}

/** Told when the database drops an idle pooled connection (server restart, admin terminate); the pool opens a new one on the next query. */
export type ConnectionLost = (err: Error) => void;

export async function connect(url: string, onConnectionLost: ConnectionLost = () => {}): Promise<Connection> {
  const db = url.startsWith('postgres://') || url.startsWith('postgresql://') ? openPostgres(url, onConnectionLost) : openSqlite(url);
  const { error, results } = await new Migrator({ db: db.db, provider: migrationProvider(db.dialect) }).migrateToLatest();
  if (error) {
    await db.db.destroy();
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`cannot migrate the store (${redact(url)}) at ${failed}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return db;
}

function openSqlite(url: string): Connection {
  if (!url.startsWith('sqlite:')) throw new Error(`unsupported store URL "${url}": use sqlite:<file> or postgres://…`);
  const file = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
  if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const sqlite = new SqliteDatabase(file);
  // WAL + NORMAL: durable across process crashes, ~4x the write rate of FULL (see STACK.md).
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  return { db: new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) }), dialect: 'sqlite', writer: sqliteWriter(sqlite) };
}

// int8 (our epoch-ms columns) arrives from pg as a string by default; it fits a double exactly.
const pgTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

function openPostgres(url: string, onConnectionLost: ConnectionLost): Connection {
  const pool = new pg.Pool({ connectionString: url, types: pgTypes, max: 10, connectionTimeoutMillis: 5000 });
  // Without a listener, an idle client's error is an uncaught exception that ends the process.
  pool.on('error', onConnectionLost);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, dialect: 'postgres', writer: kyselyWriter(db) };
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}
