import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { uuidv7 } from '../../common/ids.js';
import { Store, TokenNameTaken, type NewJob } from './store.js';

/** The same conformance cases against SQLite (always) and PostgreSQL (when reachable). */
const PG_ADMIN_URL = process.env.BATON_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function newJob(workerId = 'w-1', now = Date.now()): NewJob {
  return { id: uuidv7(now), workerId, command: 'bash', path: 'scripts/count.sh', args: ['a'], env: { K: 'v' }, cwd: '', createdAt: now, submittedBy: 'ci' };
}

function conformance(open: () => Promise<Store>, cleanup: () => Promise<void> | void): void {
  let store: Store;
  test('open and migrate', async () => {
    store = await open();
  });

  test('createJob then getJob returns the job and one queued attempt', async () => {
    const job = newJob();
    await store.createJob(job);
    const found = await store.getJob(job.id);
    assert.ok(found);
    assert.equal(found.job.state, 'queued');
    assert.deepEqual(found.job.args, ['a']);
    assert.deepEqual(found.job.env, { K: 'v' });
    assert.equal(typeof found.job.createdAt, 'number');
    assert.equal(found.attempts.length, 1);
    assert.equal(found.attempts[0]!.state, 'queued');
  });

  test('applyStatus moves forward, refuses backwards and other workers', async () => {
    const job = newJob();
    await store.createJob(job);
    assert.deepEqual(await store.applyStatus(job.id, job.workerId, { state: 'dispatched' }, 1), { applied: true });
    assert.deepEqual(await store.applyStatus(job.id, job.workerId, { state: 'running', startedAt: 5 }, 5), { applied: true });
    assert.deepEqual(await store.applyStatus(job.id, 'other', { state: 'failed' }, 6), { applied: false, current: undefined });
    assert.deepEqual(await store.applyStatus(job.id, job.workerId, { state: 'succeeded', exitCode: 0, finishedAt: 9 }, 9), { applied: true });
    assert.deepEqual(await store.applyStatus(job.id, job.workerId, { state: 'running' }, 10), { applied: false, current: 'succeeded' });
    const found = await store.getJob(job.id);
    assert.equal(found?.job.state, 'succeeded');
    assert.equal(found?.job.exitCode, 0);
    assert.equal(found?.job.finishedAt, 9);
    assert.equal(found?.attempts[0]!.startedAt, 5);
    assert.equal(found?.attempts[0]!.state, 'succeeded');
  });

  test('listJobs is newest first, filters, and pages by cursor', async () => {
    const worker = `w-${uuidv7()}`;
    const base = Date.now() + 1000;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const job = newJob(worker, base + i);
      ids.push(job.id);
      await store.createJob(job);
    }
    const page1 = await store.listJobs({ workerId: worker, limit: 3 });
    assert.deepEqual(page1.jobs.map((j) => j.id), ids.slice(2).reverse());
    assert.equal(page1.nextCursor, ids[2]);
    const page2 = await store.listJobs({ workerId: worker, limit: 3, cursor: page1.nextCursor! });
    assert.deepEqual(page2.jobs.map((j) => j.id), ids.slice(0, 2).reverse());
    assert.equal(page2.nextCursor, null);
    assert.equal((await store.listJobs({ workerId: worker, state: 'running', limit: 10 })).jobs.length, 0);
  });

  test('workers upsert and change state', async () => {
    const w = { id: `w-${uuidv7()}`, address: '127.0.0.1:7072', labels: { zone: 'a' }, capacity: 4, state: 'up' as const, lastHeartbeatAt: 1, registeredAt: 1, version: '0.1.0' };
    await store.upsertWorker(w);
    await store.upsertWorker({ ...w, address: '127.0.0.1:7073' });
    await store.setWorkerState(w.id, 'down', 7);
    const found = (await store.listWorkers()).find((x) => x.id === w.id);
    assert.deepEqual(found, { ...w, address: '127.0.0.1:7073', state: 'down', lastHeartbeatAt: 7 });
  });

  test('jobs record who submitted and who stopped them (the first stopper is kept)', async () => {
    const job = newJob();
    await store.createJob(job);
    assert.equal((await store.getJob(job.id))?.job.submittedBy, 'ci');
    assert.equal((await store.getJob(job.id))?.job.stoppedBy, '');
    await store.setStoppedBy(job.id, 'ops');
    await store.setStoppedBy(job.id, 'later');
    assert.equal((await store.getJob(job.id))?.job.stoppedBy, 'ops');
  });

  test('tokens: create, unique live names, list, revoke, reuse a revoked name', async () => {
    const name = `t-${uuidv7()}`;
    const token = { id: uuidv7(), name, role: 'viewer', hash: 'a'.repeat(60) + uuidv7().slice(-4), createdAt: 1 };
    await store.createToken(token);
    await assert.rejects(store.createToken({ ...token, id: uuidv7(), hash: 'b'.repeat(64) }), TokenNameTaken);
    assert.deepEqual((await store.listTokens()).find((t) => t.name === name), { ...token, revokedAt: null });
    assert.equal((await store.revokeToken(name, 5))?.revokedAt, 5);
    assert.equal(await store.revokeToken(name, 6), undefined);
    assert.equal((await store.listTokens()).find((t) => t.name === name), undefined);
    assert.equal((await store.listTokens(true)).find((t) => t.name === name)?.revokedAt, 5);
    await store.createToken({ ...token, id: uuidv7(), hash: 'c'.repeat(60) + uuidv7().slice(-4), createdAt: 7 });
    assert.equal((await store.listTokens()).filter((t) => t.name === name).length, 1);
  });

  // The store closes before its database goes away (dropping it first would kill live connections).
  after(async () => {
    await store?.close();
    await cleanup();
  });
}

describe('store on SQLite', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'baton-store-'));
  conformance(
    () => Store.open(`sqlite:${path.join(dir, 'baton.db')}`),
    () => rmSync(dir, { recursive: true, force: true }),
  );
});

describe('store on PostgreSQL', async () => {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 2000 });
  const reachable = await admin.connect().then(
    () => true,
    (err: Error) => {
      test(`skipped: PostgreSQL not reachable at ${PG_ADMIN_URL} (${err.message})`, { skip: true }, () => {});
      return false;
    },
  );
  if (!reachable) return;
  const name = `baton_test_${process.pid}_${Date.now()}`;
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  conformance(
    () => Store.open(url.toString()),
    async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  );
});
