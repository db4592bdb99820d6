import { sql, type CompiledQuery, type Expression, type Insertable, type Kysely, type SqlBool } from 'kysely';
import type { Dialect } from './connect.js';
import type { EventRecord } from './event-store.js';
import type { Database, EventsTable } from './schema.js';
import { type QueryTemplate, QueryTemplates } from './query-template.js';
import type { Writer, WriteResult } from './writer.js';

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

  /**
   * `insert into <table>`, from a template per table, row shape and what it returns. `shape`
   * names the columns of a row always written with the same ones (an object literal), so that
   * a hot write finds its template without listing the row's keys every time.
   */
  private insertTemplate(table: 'jobs' | 'attempts' | 'events', returning: 'id' | 'none', shape: string, row: Readonly<Record<string, unknown>>): QueryTemplate {
    return this.templates.get(`insert ${table} ${returning} ${shape}`, (p) => {
      const insert = this.db.insertInto(table).values(Object.fromEntries(Object.keys(row).map((c) => [c, p(c)])) as never);
      return returning === 'id' ? insert.returning('id' as never) : insert;
    });
  }

  /**
   * Rows with the same columns into one table. On PostgreSQL, one statement per
   * MANY_ROWS_CHARS of them: a JSON array parameter read by `jsonb_populate_recordset`, so the
   * text is the same for any number of rows (one prepared statement) and the server runs one
   * statement where it ran one per row. On SQLite, in-process, a cached statement per row
   * (`shape` as for `insert`).
   * With `returning: 'id'` the ids come back in the rows' order (see `idsOf`).
   */
  insertMany(table: 'jobs' | 'attempts' | 'events', returning: 'id' | 'none', shape: string, rows: readonly Readonly<Record<string, unknown>>[]): CompiledQuery[] {
    if (rows.length === 0) return [];
    if (this.dialect === 'sqlite') {
      // One look-up for all the rows: a batch's 500 rows each made its key and builder afresh.
      const template = this.insertTemplate(table, returning, shape, rows[0]!);
      return rows.map((row) => template.fill(row));
    }
    const columns = sql.join(Object.keys(rows[0]!).map((c) => sql.ref(c)));
    const queries: CompiledQuery[] = [];
    for (const part of byChars(rows.map((row) => JSON.stringify(row)))) {
      const from = sql`jsonb_populate_recordset(null::${sql.table(table)}, ${`[${part.join(',')}]`}::jsonb)`;
      const insert = sql`insert into ${sql.table(table)} (${columns}) select ${columns} from ${from}`;
      queries.push((returning === 'id' ? sql`${insert} returning id` : insert).compile(this.db));
    }
    return queries;
  }

  /**
   * `insert into events`: appended by the event port, and by each job write for its changes.
   * Their ids (`idsOf`) are read back by `returning id` on PostgreSQL; on SQLite the driver
   * tells each insert's rowid, where reading the row back costs a good part of the insert itself.
   */
  insertEvents(events: readonly Omit<EventRecord, 'id'>[]): CompiledQuery[] {
    return this.insertMany(
      'events',
      this.dialect === 'sqlite' ? 'none' : 'id',
      'event',
      events.map((e) => ({ kind: e.kind, entity_id: e.entityId, data: e.data, created_at: e.createdAt }) satisfies Insertable<EventsTable>),
    );
  }
}

/** A unique index refused the row: told by the driver's error code (SQLite's extended code, PostgreSQL's SQLSTATE 23505), not its words. */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}

/**
 * The ids of the rows `insertEvents` wrote, in the rows' order: returned rows' ids (PostgreSQL)
 * or rowids (SQLite). The events lock makes a transaction's ids ascending in the order it
 * inserts, and a statement inserts its rows in their array's order; RETURNING's order is not
 * promised, so they are sorted.
 */
export function idsOf(results: readonly WriteResult[]): number[] {
  return results.flatMap((r) => [...r.rows.map((row) => Number((row as { id: number | string }).id)), ...r.rowIds]).sort((a, b) => a - b);
}

/** Characters of JSON rows per statement: far below PostgreSQL's 1 GB for a value, and a batch of jobs with large stdin splits. */
const MANY_ROWS_CHARS = 8 * 1024 * 1024;

/** `rows` (JSON texts) in runs of at most MANY_ROWS_CHARS, each at least one row. */
function byChars(rows: string[]): string[][] {
  const parts: string[][] = [];
  let part: string[] = [];
  let chars = 0;
  for (const row of rows) {
    if (part.length > 0 && chars + row.length > MANY_ROWS_CHARS) {
      parts.push(part);
      part = [];
      chars = 0;
    }
    part.push(row);
    chars += row.length;
  }
  parts.push(part);
  return parts;
}
