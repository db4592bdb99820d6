import { sql, type AliasedRawBuilder, type Compilable, type CompiledQuery, type Expression, type Insertable, type Kysely, type SqlBool } from 'kysely';
import type { Dialect } from './connect.js';
import type { EventRecord } from './event-store.js';
import type { Database, EventsTable } from './schema.js';
import { QueryTemplate, QueryTemplates } from './query-template.js';
import { MERGED_CHARS, type Mergeable, type Query, type Writer } from './writer.js';

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
   * A hot query of one shape (`key`), as `templates.get` makes it, that PostgreSQL's group
   * commit may merge with its like from other writes (writer.ts, `Mergeable`): `build` makes the
   * query alone when `rows` is undefined; given `rows`, the same query reading its values from
   * `rows.table` (`p` then names its columns), one row per merged query, with `rows.ordinal` among
   * what it returns; or, with `split: 'key'` (an INSERT, whose RETURNING cannot name `rows`), its
   * rows' key (the `key` each was filled with) as `baton_key`. `columns` gives each value's SQL type.
   */
  mergeable(
    key: string,
    columns: Readonly<Record<string, string>>,
    build: (p: <T>(name: string) => T, rows?: MergedRows) => Compilable<unknown>,
    split: 'ordinal' | 'key' = 'ordinal',
  ): MergeableTemplate {
    let template = this.#mergeables.get(key);
    if (!template) {
      template = new MergeableTemplate(
        key,
        this.templates.get(key, (p) => build(p)),
        this.dialect === 'postgres' ? mergedTemplate(columns, build) : undefined,
        split,
      );
      this.#mergeables.set(key, template);
    }
    return template;
  }

  readonly #mergeables = new Map<string, MergeableTemplate>();

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
   * MERGED_CHARS of them: a JSON array parameter read by `jsonb_populate_recordset`, so the
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
    return jsonArrays(rows).map(({ json }) => this.#insertJson(table, returning, Object.keys(rows[0]!), json));
  }

  /** `insert into <table>` of the rows of a JSON array, in its order (PostgreSQL), from a template per table and columns. */
  #insertJson(table: 'jobs' | 'attempts' | 'events', returning: 'id' | 'none', columns: readonly string[], json: string): CompiledQuery {
    return this.templates
      .get(`insertJson ${table} ${returning} ${columns}`, (p) => {
        const names = sql.join(columns.map((c) => sql.ref(c)));
        const insert = sql`insert into ${sql.table(table)} (${names}) select ${names} from jsonb_populate_recordset(null::${sql.table(table)}, ${p('json')}::jsonb)`;
        return { compile: () => (returning === 'id' ? sql`${insert} returning id` : insert).compile(this.db) };
      })
      .fill({ json });
  }

  /**
   * `insert into events`: appended by the event port, and by each job write for its changes.
   * Their ids (`idsOf`) are read back by `returning id` on PostgreSQL, where the inserts of a
   * group commit merge into one (`Mergeable`); on SQLite the driver tells each insert's rowid,
   * where reading the row back costs a good part of the insert itself.
   */
  insertEvents(events: readonly Omit<EventRecord, 'id'>[]): Query[] {
    const rows = events.map((e) => ({ kind: e.kind, entity_id: e.entityId, data: e.data, created_at: e.createdAt }) satisfies Insertable<EventsTable>);
    if (this.dialect === 'sqlite') return this.insertMany('events', 'none', 'event', rows);
    const insert = (json: string): CompiledQuery => this.#insertJson('events', 'id', Object.keys(rows[0]!), json);
    return jsonArrays(rows).map(
      ({ json, part }): Mergeable => ({
        alone: insert(json),
        kind: 'insert events',
        key: undefined,
        chars: json.length,
        rows: part,
        many: insert,
        split: 'in order',
        returnsRows: true,
      }),
    );
  }
}

/** Where a merged query reads its rows from, and the column telling which one a returned row came from. */
export interface MergedRows {
  table: AliasedRawBuilder<Record<string, unknown>, 'v'>;
  ordinal: AliasedRawBuilder<number, 'baton_n'>;
}

/**
 * The merged form of a `mergeable` query: its values come from a JSON array parameter, each
 * row numbered (`baton_n`, from 1) in the array's order; a value `name` is the column `p_<name>`,
 * so that it never shadows a table's column of that name.
 */
function mergedTemplate(columns: Readonly<Record<string, string>>, build: (p: <T>(name: string) => T, rows?: MergedRows) => Compilable<unknown>): QueryTemplate {
  const names = Object.keys(columns);
  return new QueryTemplate((p) => {
    const definitions = sql.join(names.map((name) => sql`${sql.id(name)} ${sql.raw(columns[name]!)}`));
    const renamed = sql.join(names.map((name) => sql.id(`p_${name}`)));
    const from = sql`rows from (jsonb_to_recordset(${p('rows')}::jsonb) as (${definitions})) with ordinality as r(${renamed}, baton_n)`;
    return build((name) => sql.ref(`v.p_${name}`) as never, {
      table: sql<Record<string, unknown>>`(select * from ${from})`.as('v'),
      ordinal: sql<number>`v.baton_n`.as('baton_n'),
    });
  });
}

/** A `SqlContext.mergeable` query: filled alone on SQLite, and in both forms on PostgreSQL. */
export class MergeableTemplate {
  readonly #returnsRows: boolean;

  constructor(
    private readonly key: string,
    private readonly alone: QueryTemplate,
    private readonly merged: QueryTemplate | undefined,
    private readonly split: 'ordinal' | 'key',
  ) {
    const node = alone.node as { kind: string; returning?: unknown };
    this.#returnsRows = node.kind === 'SelectQueryNode' || node.returning !== undefined;
  }

  /** The query with these values, touching the rows of `key` (a job's id). */
  fill(values: Readonly<Record<string, unknown>>, key: string): Query {
    const alone = this.alone.fill(values);
    const merged = this.merged;
    if (!merged) return alone;
    const row = JSON.stringify(values);
    return {
      alone,
      kind: this.key,
      key,
      chars: row.length,
      rows: [row],
      many: (rows) => merged.fill({ rows }),
      split: this.split,
      returnsRows: this.#returnsRows,
    } satisfies Mergeable;
  }
}

/** A unique index refused the row: told by the driver's error code (SQLite's extended code, PostgreSQL's SQLSTATE 23505), not its words. */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}

/** `rows` as JSON arrays of at most MERGED_CHARS each (none for no rows): each array's text, and its rows' texts. */
function jsonArrays(rows: readonly Readonly<Record<string, unknown>>[]): { json: string; part: string[] }[] {
  if (rows.length === 0) return [];
  return byChars(rows.map((row) => JSON.stringify(row))).map((part) => ({ json: `[${part.join(',')}]`, part }));
}

/** `rows` (JSON texts) in runs of at most MERGED_CHARS (a batch of jobs with large stdin splits), each at least one row. */
function byChars(rows: string[]): string[][] {
  const parts: string[][] = [];
  let part: string[] = [];
  let chars = 0;
  for (const row of rows) {
    if (part.length > 0 && chars + row.length > MERGED_CHARS) {
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
