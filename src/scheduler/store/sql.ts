import type { CompiledQuery, Insertable, Kysely } from 'kysely';
import type { EventRecord } from './event-store.js';
import type { Database, EventsTable } from './schema.js';
import { QueryTemplates } from './query-template.js';
import type { Writer } from './writer.js';

/**
 * What the SQL implementations of the store's ports share: one connection, one writer (so
 * the writes of every port go into the same group commits) and one set of query templates.
 */
export class SqlContext {
  /** The hot writes (job creation, dispatch, status, events, heartbeat times), compiled once per shape. */
  readonly templates = new QueryTemplates();

  constructor(
    readonly db: Kysely<Database>,
    readonly writer: Writer,
  ) {}

  /**
   * `insert into <table>`, from a template per table, row shape and what it returns. `shape`
   * names the columns of a row always written with the same ones (an object literal), so that
   * a hot write finds its template without listing the row's keys every time.
   */
  insert(table: 'jobs' | 'attempts' | 'events', returning: 'id' | 'none', shape: string, row: Readonly<Record<string, unknown>>): CompiledQuery {
    return this.templates
      .get(`insert ${table} ${returning} ${shape}`, (p) => {
        const insert = this.db.insertInto(table).values(Object.fromEntries(Object.keys(row).map((c) => [c, p(c)])) as never);
        return returning === 'id' ? insert.returning('id' as never) : insert;
      })
      .fill(row);
  }

  /** `insert into events … returning id`: appended by the event port, and by each job write for its change. */
  insertEvent(e: Omit<EventRecord, 'id'>): CompiledQuery {
    return this.insert('events', 'id', 'event', { kind: e.kind, entity_id: e.entityId, data: e.data, created_at: e.createdAt } satisfies Insertable<EventsTable>);
  }
}

/** A unique index refused the row: told by the driver's error code (SQLite's extended code, PostgreSQL's SQLSTATE 23505), not its words. */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}
