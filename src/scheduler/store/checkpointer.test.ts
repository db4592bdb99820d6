import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { cleanUp, eventually, tempDir } from '../../../test/support/cluster.js';
import { startCheckpointer } from './checkpointer.js';

after(cleanUp);

/** A WAL database with one table, as the scheduler opens its store. */
function open(): { sqlite: Sqlite.Database; file: string } {
  const file = path.join(tempDir('baton-checkpoint-'), 'baton.db');
  const sqlite = new Sqlite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.exec('create table t (id integer primary key, data text not null)');
  return { sqlite, file };
}

/** Rows written in `commits` transactions: a few hundred WAL pages, well under SQLite's own 1,000-page checkpoint. */
function write(sqlite: Sqlite.Database, commits: number): void {
  const insert = sqlite.prepare('insert into t (data) values (?)');
  const commit = sqlite.transaction(() => {
    for (let i = 0; i < 20; i++) insert.run('x'.repeat(1000));
  });
  for (let i = 0; i < commits; i++) commit();
}

describe('the SQLite checkpointer', () => {
  it("copies the WAL into the database file from its own thread, the connection's own checkpoints off", async () => {
    const { sqlite, file } = open();
    const checkpointer = await startCheckpointer(sqlite, file);
    assert.equal(sqlite.pragma('wal_autocheckpoint', { simple: true }), 0);
    const before = statSync(file).size;
    write(sqlite, 10);
    // Only a checkpoint makes the database file itself grow: the rows are in the WAL until then.
    await eventually(async () => (statSync(file).size > before + 100_000 ? true : undefined), 'the rows copied into the database file', 10_000);
    await checkpointer.close();
    assert.equal((sqlite.prepare('select count(*) as n from t').get() as { n: number }).n, 200);
    sqlite.close();
  });

  it('leaves the connection checkpointing for itself when its thread cannot open the file', async () => {
    const { sqlite } = open();
    const checkpointer = await startCheckpointer(sqlite, path.join(tempDir('baton-checkpoint-'), 'missing.db'));
    assert.equal(sqlite.pragma('wal_autocheckpoint', { simple: true }), 1000);
    await checkpointer.close();
    sqlite.close();
  });
});
