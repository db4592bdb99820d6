import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openStores } from './stores.js';

// What each port does is checked by its conformance suite (job-store.test.ts, worker-store.test.ts,
// event-store.test.ts, token-store.test.ts); here, what opening the store does.
describe('store startup checks', () => {
  test('a store whose schema is newer than this binary is refused', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'baton-store-newer-'));
    const url = `sqlite:${path.join(dir, 'baton.db')}`;
    try {
      const store = await openStores(url);
      await store.close();
      // What a newer Baton would have left: a migration this one has never heard of.
      const { default: Sqlite } = await import('better-sqlite3');
      const raw = new Sqlite(path.join(dir, 'baton.db'));
      raw.prepare('insert into kysely_migration (name, timestamp) values (?, ?)').run('999_from_the_future', new Date().toISOString());
      raw.close();
      await assert.rejects(openStores(url), /has a newer schema than this Baton \(it has migration 999_from_the_future, this binary knows up to \d+_\w+\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an unreachable PostgreSQL is one sentence naming where, without the password', async () => {
    await assert.rejects(openStores('postgres://baton:secret@127.0.0.1:1/baton'), (err: Error) => {
      assert.match(err.message, /^cannot reach PostgreSQL at postgres:\/\/baton:\*\*\*@127\.0\.0\.1:1\/baton: connection refused; is it running/);
      assert.doesNotMatch(err.message, /secret/);
      return true;
    });
  });
});
