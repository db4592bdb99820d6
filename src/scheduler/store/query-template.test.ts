import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler, sql } from 'kysely';
import { QueryTemplate, QueryTemplates } from './query-template.js';
import type { Database } from './schema.js';

// Kysely that only compiles: no database behind it.
const dialects = {
  sqlite: new Kysely<Database>({
    dialect: {
      createAdapter: () => new SqliteAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => new SqliteIntrospector(db),
      createQueryCompiler: () => new SqliteQueryCompiler(),
    },
  }),
  postgres: new Kysely<Database>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => new PostgresIntrospector(db),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  }),
};

describe('query templates', () => {
  for (const [name, db] of Object.entries(dialects)) {
    it(`fill gives the query Kysely compiles from the same values (${name})`, () => {
      const update = (jobId: string, attempt: number, now: number) =>
        db
          .updateTable('jobs')
          .set({ state: 'running', reason: '', updated_at: now })
          .where('id', '=', jobId)
          .where('attempt', '=', attempt)
          .where('state', 'in', ['dispatched', 'queued'])
          .returningAll();
      const template = new QueryTemplate((p) => update(p('jobId'), p('attempt'), p('now')));
      const cases: [string, number, number][] = [
        ['a', 1, 10],
        ['b', 7, 20],
        ["it's", 0, 0],
      ];
      for (const [jobId, attempt, now] of cases) {
        const direct = update(jobId, attempt, now).compile();
        const filled = template.fill({ jobId, attempt, now });
        assert.equal(filled.sql, direct.sql);
        assert.deepEqual(filled.parameters, direct.parameters);
      }
    });
  }

  it('keeps values built into the query, takes nulls, and insists on every named value', () => {
    const db = dialects.sqlite;
    const template = new QueryTemplate((p) =>
      db
        .updateTable('jobs')
        .set({ next_attempt_at: p('at'), reason: 'fixed' })
        .where('id', '=', p<string>('id')),
    );
    assert.deepEqual(template.fill({ at: null, id: 'x' }).parameters, [null, 'fixed', 'x']);
    assert.throws(() => template.fill({ at: 1 }), /no value for "id"/);
  });

  it('refuses a parameter that would not be sent as one value', () => {
    const db = dialects.sqlite;
    assert.throws(() => new QueryTemplate((p) => db.updateTable('jobs').set({ reason: `why: ${p<string>('reason')}` })), /inside a value/);
    assert.throws(() => new QueryTemplate((p) => db.updateTable('jobs').set({ reason: sql.lit(p<string>('reason')) })), /into the SQL text/);
  });

  it('builds each shape once', () => {
    const templates = new QueryTemplates();
    let builds = 0;
    const build = (p: <T>(name: string) => T) => {
      builds++;
      return dialects.sqlite.deleteFrom('jobs').where('id', '=', p<string>('id'));
    };
    templates.get('delete', build);
    templates.get('delete', build);
    templates.get('delete again', build);
    assert.equal(builds, 2);
  });
});
