// Schedules on two schedulers sharing one PostgreSQL database: the leader SIGKILLed, and the
// leader's database session ended while its process lives on. Each tick fires once either way.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { freshDatabase } from './support/postgres.js';
import { startScheduler, tempDir, eventually, type SchedulerHandle } from './harness.js';
import { assertEverySecondOnce, call, runsOf, sleep } from './support/schedules.js';

const LEADS = 'this scheduler is the leader now';

/** Two schedulers on a fresh database, the first leading; a schedule every second made through the follower. */
async function pairWithSchedule(name: string): Promise<{ a: SchedulerHandle; b: SchedulerHandle; storeUrl: string; drop: () => Promise<void> }> {
  const { url: storeUrl, drop } = await freshDatabase('baton_schedules');
  const dataDir = tempDir('baton-schedule-replicas-');
  const args = ['--store', storeUrl];
  const a = await startScheduler({ dataDir, args });
  assert.ok(a.logs.some((l) => l.msg === LEADS));
  const b = await startScheduler({ dataDir, args });
  // Made on the follower: the leader hears of it through the shared event log, and fires it.
  // No worker: the runs wait queued (overlap allow), which is all this needs to count.
  const created = await call('POST', `${b.api}/v1/schedules`, { name, cron: '@every 1s', job: { command: 'true' }, overlap: 'allow' });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  await eventually(async () => ((await runsOf(b.api, name)).length >= 2 ? true : undefined), 'two runs fired by the leader');
  return { a, b, storeUrl, drop };
}

/** The follower leads, and the ticks from before, during and after the handover are each there once. */
async function assertHandedOver(b: SchedulerHandle, name: string, since: number): Promise<void> {
  await b.waitForLog((l) => l.msg === LEADS);
  const runs = await eventually(async () => {
    const r = await runsOf(b.api, name);
    return r.some((run) => Date.parse(run.scheduled_for!) > since + 4_000) ? r : undefined;
  }, 'runs fired by the new leader');
  const ticks = assertEverySecondOnce(runs);
  assert.ok(ticks[0]! < since && ticks.at(-1)! > since + 4_000);
}

describe('schedules on two schedulers sharing PostgreSQL', () => {
  it('the leader SIGKILLed: the other leads and fires each tick once, the missed ones included', async () => {
    const { a, b, drop } = await pairWithSchedule('failover-kill');
    try {
      await a.kill('SIGKILL');
      const killedAt = Date.now();
      await sleep(1_500);
      await assertHandedOver(b, 'failover-kill', killedAt);
    } finally {
      await b.kill();
      await drop();
    }
  });

  it("the leader's session ended by pg_terminate_backend: it steps down, the other leads, each tick once", async () => {
    const { a, b, storeUrl, drop } = await pairWithSchedule('failover-terminate');
    try {
      const admin = new pg.Client({ connectionString: storeUrl });
      await admin.connect();
      const endedAt = Date.now();
      try {
        // The session holding the leader lock (advisory key 0x62_61746f6e: classid 0x62, objid 0x61746f6e)
        // in this test's own database: tests running beside it have leaders of their own.
        const { rowCount } = await admin.query(
          "select pg_terminate_backend(pid) from pg_locks where locktype = 'advisory' and classid = $1 and objid = $2 and granted and database = (select oid from pg_database where datname = current_database())",
          [0x62, 0x61746f6e],
        );
        assert.equal(rowCount, 1, 'one session holds the leader lock');
      } finally {
        await admin.end();
      }
      // The old leader notices and exits rather than fire beside the new one.
      assert.equal((await a.exited).code, 1);
      await assertHandedOver(b, 'failover-terminate', endedAt);
    } finally {
      await a.kill();
      await b.kill();
      await drop();
    }
  });
});
