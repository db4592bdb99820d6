import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../common/logger.js';
import { freshDatabase, PG_ADMIN_URL } from '../../test/support/postgres.js';
import { newJob } from '../../test/support/store-jobs.js';
import { EventLog, idRuns } from './event-log.js';
import { EventBus } from './events.js';
import type { EventRecord } from './store/event-store.js';
import { openStores, type Stores } from './store/stores.js';

describe('idRuns', () => {
  const table: [string, number[], [number, number][]][] = [
    ['none', [], []],
    ['one', [4], [[4, 4]]],
    ['consecutive ids: one run', [4, 5, 6], [[4, 6]]],
    [
      'gaps start runs',
      [1, 2, 5, 7, 8],
      [
        [1, 2],
        [5, 5],
        [7, 8],
      ],
    ],
  ];
  for (const [name, ids, runs] of table) it(name, () => assert.deepEqual(idRuns(ids), runs));
});

/** A scheduler's event log on the shared store: what it announced, and which of it came from the other. */
interface Replica {
  stores: Stores;
  log: EventLog;
  recorded: EventRecord[];
  remote: number[];
  stored: number[];
}

describe('EventLog on a store two schedulers share (PostgreSQL)', { skip: PG_ADMIN_URL === 'skip' && 'BATON_TEST_PG=skip' }, () => {
  it('each announces every event once, in id order, as stored; those the other stored as remote', async () => {
    const db = await freshDatabase('baton_event_log_test');
    const replicas: Replica[] = [];
    let connected = false;
    try {
      for (const leading of [true, false]) {
        const stores = await openStores(db.url);
        const replica: Replica = { stores, log: undefined as never, recorded: [], remote: [], stored: [] };
        // Each announcement makes the other read back what is new, as PgCluster's notifications do (once connected).
        const announce = (): void => {
          if (connected) replicas.find((r) => r !== replica)?.log.catchUp();
        };
        replica.log = new EventLog(stores.events, new EventBus(), createLogger('test'), { announce, leading });
        const toLog = stores.events.onJobEvents!;
        stores.events.onJobEvents = (events) => {
          replica.stored.push(...events.map((e) => e.id));
          toLog(events);
        };
        replica.log.on('recorded', (e) => replica.recorded.push(e));
        replica.log.on('remote', (e) => replica.remote.push(e.id));
        await replica.log.start();
        replicas.push(replica);
      }
      const [a, b] = replicas as [Replica, Replica];
      const create = (r: Replica, n: number) => r.stores.jobs.createJobs(Array.from({ length: n }, () => newJob()));
      // Unheard by a, b stores more than a read-back batch (1,000 events); then a stores its own
      // after them, and reads b's back in two batches, its own going out after both.
      await create(b, 1_200);
      await create(a, 300);
      await a.log.flushed();
      // Then both at once, hearing each other.
      connected = true;
      await Promise.all([a, b].flatMap((r) => [1, 2, 3].map(() => create(r, 200))));
      await new Promise((resolve) => setImmediate(resolve));
      for (const { log } of replicas) log.catchUp();
      for (const { log } of replicas) await log.flushed();
      const all = await a.stores.events.eventsAfter(0, 10_000);
      assert.equal(all.length, 2_700);
      for (const [i, replica] of replicas.entries()) {
        assert.deepEqual(replica.recorded, all, `replica ${i}: every event once, in id order, as stored`);
        // Every one the other stored, in order. (One of its own read back before its commit was
        // answered is taken for the other's too: only a read of the job more.)
        const theirs = new Set(replicas[1 - i]!.stored);
        assert.deepEqual(
          replica.remote.filter((id) => theirs.has(id)),
          [...theirs].sort((a, b) => a - b),
          `replica ${i}: the other's as remote`,
        );
      }
    } finally {
      for (const { stores } of replicas) await stores.close();
      await db.drop();
    }
  });
});
