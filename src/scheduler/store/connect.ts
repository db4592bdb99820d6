import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Kysely, Migrator, PostgresDialect, sql, SqliteDialect } from 'kysely';
import type { Database } from './schema.js';
import { startCheckpointer } from './checkpointer.js';
import { migrationProvider } from './migrations.js';
import { pgGroupWriter, sqliteWriter, type Writer } from './writer.js';

export type Dialect = 'sqlite' | 'postgres';

/**
 * Opens the database a store URL names and brings its schema up to date:
 * `sqlite:<file>` (or `sqlite::memory:`) or `postgres://…` / `postgresql://…`.
 */
export interface Connection {
  db: Kysely<Database>;
  dialect: Dialect;
  writer: Writer;
  /** Closes the database and what runs beside it. */
  close(): Promise<void>;
}

/** Told when the database drops an idle pooled connection (server restart, admin terminate); the pool opens a new one on the next query. */
export type ConnectionLost = (err: Error) => void;

// A query (statement) running longer than this is cancelled by PostgreSQL: a stuck lock or a
// runaway scan answers an error instead of holding the scheduler's calls for ever.
const PG_STATEMENT_TIMEOUT_MS = 30_000;

export async function connect(url: string, onConnectionLost: ConnectionLost = () => {}): Promise<Connection> {
  const db = url.startsWith('postgres://') || url.startsWith('postgresql://') ? await openPostgres(url, onConnectionLost) : await openSqlite(url);
  try {
    await checkReachableAndKnown(db, url);
  } catch (err) {
    await db.close();
    throw err;
  }
  const { error, results } = await new Migrator({ db: db.db, provider: migrationProvider(db.dialect) }).migrateToLatest();
  if (error) {
    await db.close();
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`cannot migrate the store (${redact(url)}) at ${failed}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return db;
}

/**
 * Before migrating: the database answers (else a sentence saying where and what to check), and
 * its schema is not newer than this binary (a migration it has never heard of means a newer
 * Baton wrote here; running on would corrupt it).
 */
async function checkReachableAndKnown(db: Connection, url: string): Promise<void> {
  try {
    await sql`select 1`.execute(db.db);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ECONNREFUSED' ? 'connection refused' : e.code === 'ENOTFOUND' ? 'no such host' : e.message;
    throw new Error(`cannot reach ${db.dialect === 'postgres' ? 'PostgreSQL' : 'the SQLite file'} at ${redact(url)}: ${why}; is it running, and is the address right?`);
  }
  const known = new Set(Object.keys(await migrationProvider(db.dialect).getMigrations()));
  let applied: string[];
  try {
    applied = (await sql<{ name: string }>`select name from kysely_migration`.execute(db.db)).rows.map((r) => r.name);
  } catch {
    return; // a new database: no migration table yet
  }
  const unknown = applied.filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new Error(
      `the store at ${redact(url)} has a newer schema than this Baton (it has migration ${unknown.sort().at(-1)}, this binary knows up to ${[...known].sort().at(-1)}): run a Baton at least as new as the one that wrote it, or use another --store`,
    );
  }
}

/**
 * The database drivers are optional dependencies, loaded only when a store is opened: a worker
 * host installs without them (`--omit=optional`) and never compiles better-sqlite3.
 */
export async function loadDriver<T>(name: 'better-sqlite3' | 'pg', load: () => Promise<{ default: T }>): Promise<T> {
  try {
    return (await load()).default;
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND';
    const why = missing ? 'is not installed' : `did not load (${(err as Error).message.split('\n')[0]})`;
    throw new Error(`the database driver ${name} ${why}: a scheduler needs it; install Baton without --omit=optional (npm ci)`, { cause: err });
  }
}

async function openSqlite(url: string): Promise<Connection> {
  if (!url.startsWith('sqlite:')) throw new Error(`unsupported store URL "${url}": use sqlite:<file> or postgres://…`);
  const file = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
  const Sqlite = await loadDriver('better-sqlite3', () => import('better-sqlite3'));
  if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const sqlite = new Sqlite(file);
  // WAL + NORMAL: durable across process crashes, ~4x the write rate of FULL (see STACK.md).
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  // The page cache stays at the 16 MiB better-sqlite3 builds SQLite with: a smaller one saves a
  // little memory but makes the copies of large outputs into the store block the event loop
  // for several times as long.
  const checkpointer = file === ':memory:' ? undefined : await startCheckpointer(sqlite, path.resolve(file));
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  return {
    db,
    dialect: 'sqlite',
    writer: sqliteWriter(sqlite),
    close: async () => {
      await checkpointer?.close();
      await db.destroy();
    },
  };
}

/** pg_advisory_xact_lock key that serialises event appends ("events" in ASCII). */
const EVENTS_LOCK_KEY = 0x6576656e7473;

async function openPostgres(url: string, onConnectionLost: ConnectionLost): Promise<Connection> {
  const pg = await loadDriver('pg', () => import('pg'));
  // int8 (our epoch-ms columns) arrives from pg as a string by default; it fits a double exactly.
  const pgTypes = {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
      oid === pg.types.builtins.INT8 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
  };
  // Pipeline mode: a connection writes each query at once, without waiting for the answer to the one
  // before (the group writer's transactions rely on it); one query at a time behaves as before.
  const pool = new pg.Pool({ connectionString: url, types: pgTypes, pipeline: true, max: 10, connectionTimeoutMillis: 5000, statement_timeout: PG_STATEMENT_TIMEOUT_MS });
  // Without a listener, an idle client's error is an uncaught exception that ends the process.
  pool.on('error', onConnectionLost);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, dialect: 'postgres', writer: pgGroupWriter(pool, sql`select pg_advisory_xact_lock(${EVENTS_LOCK_KEY})`.compile(db)), close: () => db.destroy() };
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}
