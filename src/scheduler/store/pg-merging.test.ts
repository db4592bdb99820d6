// PostgreSQL's group commit runs the writes of a kind from many callers as one statement
// (writer.ts, merge-plan.ts). Should a merged form fail, or a write of another kind cut the
// merging, every write still succeeds, one statement each: only counting the statements shows it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { freshDatabase, PG_ADMIN_URL } from '../../../test/support/postgres.js';
import { dispatchedJob } from '../../../test/support/store-jobs.js';
import { reportTransition } from '../job-state.js';
import type { NewJob } from './job-store.js';
import { openStores, type Stores } from './stores.js';

type Query = (this: pg.Client, ...args: unknown[]) => unknown;

/** The write statements node-postgres sends while `run` runs, counted by kind and table ("insert events"). */
async function writesDuring(run: () => Promise<unknown>): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const prototype = pg.Client.prototype as unknown as { query: Query };
  const query = prototype.query;
  prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string } | undefined)?.text;
    const write = /^(insert into|update) "(\w+)"/.exec(text ?? '');
    if (write) {
      const kind = `${write[1] === 'update' ? 'update' : 'insert'} ${write[2]}`;
      counts.set(kind, (counts.get(kind) ?? 0) + 1);
    }
    return query.apply(this, args);
  };
  try {
    await run();
  } finally {
    prototype.query = query;
  }
  return counts;
}

describe('PostgreSQL group commit', { skip: PG_ADMIN_URL === 'skip' && 'BATON_TEST_PG=skip' }, () => {
  let stores: Stores | undefined;
  let drop: () => Promise<void> = async () => {};
  before(async () => {
    const db = await freshDatabase('baton_merge_test');
    drop = db.drop;
    stores = await openStores(db.url);
  });
  after(async () => {
    await stores?.close();
    await drop();
  });

  test('the ends of jobs and their kept outputs, asked for in one turn, take a statement per kind', async () => {
    const { jobs, outputs } = stores!;
    const ended: NewJob[] = [];
    for (let i = 0; i < 10; i++) ended.push(await dispatchedJob(jobs));
    const succeeded = reportTransition('succeeded')!;
    // As the scheduler asks for them: each job's end, then its output sent with the end.
    let results: unknown[] = [];
    const writes = await writesDuring(async () => {
      results = await Promise.all(
        ended.flatMap((job) => [
          jobs.applyStatus(job.id, 1, 'w-1', succeeded, { state: 'succeeded', exitCode: 0, finishedAt: 5 }, 5).then((r) => r.applied),
          outputs.keepEndedOutput(job.id, 1, { workerId: 'w-1', state: 'succeeded' }, { data: new Uint8Array(0), truncated: false }, 5),
        ]),
      );
    });
    assert.deepEqual(results, Array(20).fill(true), 'every end applied and every output kept');
    for (const job of ended) assert.equal((await outputs.getOutput(job.id, 1))?.complete, true, job.id);
    // The first write commits alone and the others together: two statements of a kind at most,
    // where a write that did not merge takes one per job.
    for (const kind of ['update jobs', 'update attempts', 'insert events', 'insert outputs']) {
      const sent = writes.get(kind) ?? 0;
      // At least one: a count of none would say the statements were not seen, not that they merged.
      assert.ok(sent >= 1 && sent <= 2, `${kind}: ${sent} statements for 10 jobs (${JSON.stringify([...writes])})`);
    }
  });
});
