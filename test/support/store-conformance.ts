// The store's conformance suite: each port's cases, by method, run against SQLite and PostgreSQL.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openStores, type Stores } from '../../src/scheduler/store/stores.js';
import { freshDatabase, PG_ADMIN_URL } from './postgres.js';

/** One case: given the stores of a database the other cases of its port share (so: unique ids, counts as differences). */
export type Case = (stores: Stores) => Promise<void>;

/** The names of a port's methods. */
export type Methods<P> = { [K in keyof P]-?: P[K] extends (...args: never[]) => unknown ? K : never }[keyof P];

/** Where the cases run: SQLite always; PostgreSQL unless BATON_TEST_PG=skip (where there is none). */
const DIALECTS: { name: string; skip: false | string; open: () => Promise<{ url: string; drop: () => Promise<void> | void }> }[] = [
  {
    name: 'SQLite',
    skip: false,
    open: async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'baton-store-'));
      return { url: `sqlite:${path.join(dir, 'baton.db')}`, drop: () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  { name: 'PostgreSQL', skip: PG_ADMIN_URL === 'skip' && 'BATON_TEST_PG=skip', open: () => freshDatabase('baton_store_test') },
];

/**
 * Runs `cases` (at least one per method of the port, typed so none is left out) on each
 * dialect, and checks that every method the implementation has is among them: a method
 * added to an implementation without a conformance case fails here.
 */
export function conformance<P>(port: string, implementation: { name: string; prototype: object }, cases: { [M in Methods<P>]: Record<string, Case> }): void {
  test(`${port}: every method of ${implementation.name} has a conformance case`, () => {
    const methods = Object.getOwnPropertyNames(implementation.prototype).filter((name) => name !== 'constructor');
    const covered = Object.entries(cases as Record<string, Record<string, Case>>)
      .filter(([, named]) => Object.keys(named).length > 0)
      .map(([method]) => method);
    assert.deepEqual(
      methods.filter((m) => !covered.includes(m)),
      [],
      'methods without a case',
    );
    assert.deepEqual(
      covered.filter((m) => !methods.includes(m)),
      [],
      'cases of no method',
    );
  });
  for (const dialect of DIALECTS) {
    describe(`${port} on ${dialect.name}`, { skip: dialect.skip }, () => {
      let stores: Stores | undefined;
      let drop: () => Promise<void> | void = () => {};
      before(async () => {
        const db = await dialect.open();
        drop = db.drop;
        stores = await openStores(db.url);
      });
      for (const [method, named] of Object.entries(cases as Record<string, Record<string, Case>>)) {
        for (const [name, run] of Object.entries(named)) test(`${method}: ${name}`, () => run(stores!));
      }
      // The stores close before their database goes away (dropping it first would kill live connections).
      after(async () => {
        await stores?.close();
        await drop();
      });
    });
  }
}
