import { sql, type CompiledQuery, type Expression, type Insertable, type Kysely, type SqlBool } from 'kysely';
import type { Dialect } from './connect.js';
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
    readonly dialect: Dialect,
  ) {}

  /**
   * `column` is one of `values`, in a statement whose text is the same for any number of them
   * (an array parameter on PostgreSQL, a JSON one on SQLite), where `IN (…)` would be a new
   * statement, prepared and kept by the writer, for every length.
   */
  among(column: string, values: readonly string[]): Expression<SqlBool> {
    return this.dialect === 'postgres'
      ? sql<SqlBool>`${sql.ref(column)} = any(${values})`
      : sql<SqlBool>`${sql.ref(column)} in (select value from json_each(${JSON.stringify(values)}))`;
  }

  /** `insert into <table>`, from a template per table, column set and what it returns. */
  insert(table: 'jobs' | 'attempts' | 'events', returning: 'id' | 'none', row: Readonly<Record<string, unknown>>): CompiledQuery {
    const columns = Object.keys(row);
    return this.templates
      .get(`insert ${table} ${returning} ${columns}`, (p) => {
        const insert = this.db.insertInto(table).values(Object.fromEntries(columns.map((c) => [c, p(c)])) as never);
        return returning === 'id' ? insert.returning('id' as never) : insert;
      })
      .fill(row);
  }

  /** `insert into events … returning id`: appended by the event port, and by each job write for its change. */
  insertEvent(e: Omit<EventRecord, 'id'>): CompiledQuery {
    return this.insert('events', 'id', { kind: e.kind, entity_id: e.entityId, data: e.data, created_at: e.createdAt } satisfies Insertable<EventsTable>);
  }
}

/** A unique index refused the row: told by the driver's error code (SQLite's extended code, PostgreSQL's SQLSTATE 23505), not its words. */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}
