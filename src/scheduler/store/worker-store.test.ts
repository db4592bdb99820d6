import assert from 'node:assert/strict';
import { uuidv7 } from '../../common/ids.js';
import { conformance } from '../../../test/support/store-conformance.js';
import { SqlWorkerStore } from './sql-worker-store.js';
import type { WorkerRecord, WorkerStore } from './worker-store.js';

function newWorker(): WorkerRecord {
  return {
    id: `w-${uuidv7()}`,
    address: '127.0.0.1:7072',
    labels: { zone: 'a' },
    capacity: 4,
    state: 'up',
    lastHeartbeatAt: 1,
    registeredAt: 1,
    version: '0.1.0',
    drainingBy: '',
  };
}

async function stored(workers: WorkerStore, id: string): Promise<WorkerRecord | undefined> {
  return (await workers.listWorkers()).find((w) => w.id === id);
}

conformance<WorkerStore>('WorkerStore', SqlWorkerStore, {
  upsertWorker: {
    'adds a worker, then replaces what is known of it': async ({ workers }) => {
      const w = newWorker();
      await workers.upsertWorker(w);
      assert.deepEqual(await stored(workers, w.id), w);
      const again = { ...w, address: '127.0.0.1:7073', labels: {}, capacity: 1, state: 'down' as const, lastHeartbeatAt: 5, registeredAt: 5, version: '0.2.0', drainingBy: 'ops' };
      await workers.upsertWorker(again);
      assert.deepEqual(await stored(workers, w.id), again);
    },
  },
  setWorkerState: {
    'sets the state and the heartbeat time; an unknown worker is left out': async ({ workers }) => {
      const w = newWorker();
      await workers.upsertWorker(w);
      await workers.setWorkerState(w.id, 'down', 7);
      assert.deepEqual(await stored(workers, w.id), { ...w, state: 'down', lastHeartbeatAt: 7 });
      await workers.setWorkerState(w.id, 'up', 8);
      assert.equal((await stored(workers, w.id))?.state, 'up');
      const unknown = `w-${uuidv7()}`;
      await workers.setWorkerState(unknown, 'up', 9);
      assert.equal(await stored(workers, unknown), undefined);
    },
  },
  touchWorker: {
    "a live worker's heartbeat time only; a worker that is not up is left as it is": async ({ workers }) => {
      const w = newWorker();
      await workers.upsertWorker(w);
      await workers.touchWorker(w.id, 9);
      assert.deepEqual(await stored(workers, w.id), { ...w, lastHeartbeatAt: 9 });
      await workers.setWorkerState(w.id, 'down', 10);
      await workers.touchWorker(w.id, 11);
      assert.deepEqual(await stored(workers, w.id), { ...w, state: 'down', lastHeartbeatAt: 10 });
    },
    'heartbeats asked for together each land on their own worker': async ({ workers }) => {
      const [first, up, down] = [newWorker(), newWorker(), newWorker()];
      for (const w of [first, up, down]) await workers.upsertWorker(w);
      // The first commits alone, the others in one group commit (one statement on PostgreSQL).
      await Promise.all([workers.touchWorker(first.id, 20), workers.touchWorker(up.id, 21), workers.setWorkerState(down.id, 'down', 22), workers.touchWorker(down.id, 23)]);
      assert.deepEqual(await Promise.all([first, up, down].map((w) => stored(workers, w.id))), [
        { ...first, lastHeartbeatAt: 20 },
        { ...up, lastHeartbeatAt: 21 },
        { ...down, state: 'down', lastHeartbeatAt: 22 },
      ]);
    },
    'a heartbeat asked for after a state change in one group commit lands after it': async ({ workers }) => {
      const [first, other, back] = [newWorker(), newWorker(), newWorker()];
      for (const w of [first, other, back]) await workers.upsertWorker(w);
      await workers.setWorkerState(back.id, 'down', 10);
      // The first commits alone, the others together. Merged with the other worker's heartbeat, ahead
      // of the change, the heartbeat would find the worker down and be dropped: 22, not 23.
      await Promise.all([workers.touchWorker(first.id, 19), workers.touchWorker(other.id, 20), workers.setWorkerState(back.id, 'up', 22), workers.touchWorker(back.id, 23)]);
      assert.deepEqual(await stored(workers, back.id), { ...back, state: 'up', lastHeartbeatAt: 23 });
    },
  },
  setWorkerDraining: {
    'records who drained it, and undrains with ""': async ({ workers }) => {
      const w = newWorker();
      await workers.upsertWorker(w);
      await workers.setWorkerDraining(w.id, 'root');
      assert.equal((await stored(workers, w.id))?.drainingBy, 'root');
      await workers.setWorkerDraining(w.id, '');
      assert.deepEqual(await stored(workers, w.id), w);
    },
  },
  removeWorker: {
    'forgets a worker that is down or deregistered; one that is up, or unknown, is not removed': async ({ workers }) => {
      const [up, down, gone] = [newWorker(), { ...newWorker(), state: 'down' as const }, { ...newWorker(), state: 'deregistered' as const }];
      for (const w of [up, down, gone]) await workers.upsertWorker(w);
      assert.equal(await workers.removeWorker(up.id), false);
      assert.deepEqual(await stored(workers, up.id), up);
      assert.equal(await workers.removeWorker(down.id), true);
      assert.equal(await stored(workers, down.id), undefined);
      assert.equal(await workers.removeWorker(gone.id), true);
      assert.equal(await workers.removeWorker(gone.id), false, 'already gone');
      assert.equal(await workers.removeWorker(`w-${uuidv7()}`), false);
    },
  },
  listWorkers: {
    'every worker, by id': async ({ workers }) => {
      const added = [newWorker(), newWorker(), newWorker()].reverse();
      for (const w of added) await workers.upsertWorker(w);
      const ids = (await workers.listWorkers()).map((w) => w.id);
      assert.deepEqual(ids, [...ids].sort());
      for (const w of added) assert.ok(ids.includes(w.id));
    },
  },
});
