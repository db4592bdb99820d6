import type { Compilable, CompiledQuery } from 'kysely';

const MARK = '\u0000baton-param:';

/** Where a value goes: a named one, or one fixed when the query was built. */
type Slot = { name: string } | { value: unknown };

/**
 * A Kysely query of one shape, built and compiled once; each use only fills in its
 * parameters. Building and compiling a query costs more CPU than SQLite takes to run it (a
 * seventh of the scheduler's CPU while dispatching), and the writes every job makes have a
 * handful of shapes. `build` puts `param(name)` wherever a value goes; `fill` takes the values
 * by name. Values written into the query itself (like a state to match) are kept as they were.
 */
export class QueryTemplate {
  private readonly compiled: CompiledQuery;
  private readonly slots: Slot[];

  constructor(build: (param: <T>(name: string) => T) => Compilable<unknown>) {
    this.compiled = build((name) => `${MARK}${name}` as never).compile();
    // A marker that did not become a parameter of its own (inlined, or part of a value) would be sent as is.
    if (this.compiled.sql.includes(MARK)) throw new Error(`a query template put a parameter into the SQL text: ${this.compiled.sql}`);
    this.slots = this.compiled.parameters.map((value): Slot => {
      if (typeof value !== 'string' || !value.includes(MARK)) return { value };
      if (value.lastIndexOf(MARK) !== 0) throw new Error(`a query template put a parameter inside a value: ${JSON.stringify(value)}`);
      return { name: value.slice(MARK.length) };
    });
  }

  /** What kind of statement it is, and what it returns. */
  get node(): CompiledQuery['query'] {
    return this.compiled.query;
  }

  /** The query with these values; a name the query uses must be among them. */
  fill(values: Readonly<Record<string, unknown>>): CompiledQuery {
    // A loop and a literal: this runs for every row written (a batch's queries live until its commit).
    const parameters = new Array<unknown>(this.slots.length);
    for (let i = 0; i < parameters.length; i++) {
      const slot = this.slots[i]!;
      if (!('name' in slot)) {
        parameters[i] = slot.value;
        continue;
      }
      const value = values[slot.name];
      if (value === undefined) throw new Error(`query template: no value for "${slot.name}" in ${this.compiled.sql}`);
      parameters[i] = value;
    }
    const { query, queryId, sql } = this.compiled;
    return { query, queryId, sql, parameters };
  }
}

/** Templates by shape: the first use of a key builds its template. */
export class QueryTemplates {
  private readonly byKey = new Map<string, QueryTemplate>();

  get(key: string, build: (param: <T>(name: string) => T) => Compilable<unknown>): QueryTemplate {
    let template = this.byKey.get(key);
    if (!template) {
      template = new QueryTemplate(build);
      this.byKey.set(key, template);
    }
    return template;
  }
}
