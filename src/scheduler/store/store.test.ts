import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { uuidv7 } from '../../common/ids.js';
import { reportTransition } from '../job-state.js';
import { DEFAULT_RETRY } from '../retry-policy.js';
import { ScheduleNameTaken, type ScheduleRecord } from './schedule-store.js';
import { IdempotencyKeyTaken, Store, TickTaken, TokenNameTaken, type ApplyResult, type NewJob, type StatusUpdate } from './store.js';

/** The same conformance cases against SQLite (always) and PostgreSQL (when reachable). */
const PG_ADMIN_URL = process.env.BATON_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function newJob(now = Date.now()): NewJob {
  return {
    id: uuidv7(now),
    command: 'bash',
    path: 'scripts/count.sh',
    args: ['a'],
    env: { K: 'v' },
    cwd: '',
    createdAt: now,
    submittedBy: 'ci',
    labels: { gpu: 'true' },
    priority: 3,
    retry: { ...DEFAULT_RETRY, maxAttempts: 2 },
    pinnedWorker: '',
    sandbox: { network: 'none' },
  };
}

/** A job created and dispatched to `workerId`. */
/** A worker's report ('' worker: a stop while queued), by the transition the writer would pick. */
function report(store: Store, jobId: string, attempt: number, workerId: string, update: StatusUpdate, now: number): Promise<ApplyResult> {
  const transition = workerId === '' && update.state === 'stopped' ? 'stop' : reportTransition(update.state);
  assert.ok(transition, `no transition reports ${update.state}`);
  return store.applyStatus(jobId, attempt, workerId, transition, update, now);
}

async function dispatchedJob(store: Store, workerId = 'w-1', now = Date.now()): Promise<NewJob> {
  const job = newJob(now);
  await store.createJob(job);
  assert.ok(await store.markDispatched(job.id, 1, workerId, now));
  return job;
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
    assert.equal(found.job.workerId, '');
    assert.equal(found.job.attempt, 1);
    assert.deepEqual(found.job.labels, { gpu: 'true' });
    assert.equal(found.job.priority, 3);
    assert.deepEqual(found.job.retry, { ...DEFAULT_RETRY, maxAttempts: 2 });
    assert.deepEqual(found.job.sandbox, { network: 'none' });
    assert.deepEqual(found.job.args, ['a']);
    assert.deepEqual(found.job.env, { K: 'v' });
    assert.equal(typeof found.job.createdAt, 'number');
    assert.equal(found.attempts.length, 1);
    assert.equal(found.attempts[0]!.state, 'queued');
  });

  test('applyStatus moves forward, refuses backwards, other workers and other attempts', async () => {
    const job = await dispatchedJob(store);
    assert.equal((await report(store, job.id, 1, 'w-1', { state: 'running', startedAt: 5 }, 5)).applied, true);
    assert.deepEqual(await report(store, job.id, 1, 'other', { state: 'failed' }, 6), { applied: false, current: undefined });
    assert.deepEqual(await report(store, job.id, 2, 'w-1', { state: 'failed' }, 6), { applied: false, current: undefined });
    assert.equal((await report(store, job.id, 1, 'w-1', { state: 'succeeded', exitCode: 0, finishedAt: 9 }, 9)).applied, true);
    assert.deepEqual(await report(store, job.id, 1, 'w-1', { state: 'running' }, 10), { applied: false, current: 'succeeded' });
    const found = await store.getJob(job.id);
    assert.equal(found?.job.state, 'succeeded');
    assert.equal(found?.job.exitCode, 0);
    assert.equal(found?.job.finishedAt, 9);
    assert.equal(found?.attempts[0]?.startedAt, 5);
    assert.equal(found?.attempts[0]?.state, 'succeeded');
    assert.equal(found?.attempts[0]?.workerId, 'w-1');
  });

  test('markDispatched happens once; a job stopped while queued is never dispatched', async () => {
    const job = await dispatchedJob(store, 'w-1');
    assert.equal(await store.markDispatched(job.id, 1, 'w-2', 2), undefined);
    assert.equal((await store.getJob(job.id))?.job.workerId, 'w-1');
    const queued = newJob();
    await store.createJob(queued);
    assert.equal((await report(store, queued.id, 1, '', { state: 'stopped', error: 'stopped while queued' }, 3)).applied, true);
    assert.equal(await store.markDispatched(queued.id, 1, 'w-1', 4), undefined);
  });

  test('returnToQueue puts a refused dispatch back, with its reason', async () => {
    const job = await dispatchedJob(store, 'w-1');
    assert.equal(await store.returnToQueue(job.id, 1, 'w-2', 'nope', 2), undefined);
    assert.ok(await store.returnToQueue(job.id, 1, 'w-1', 'worker w-1 is at capacity', 2));
    const found = await store.getJob(job.id);
    assert.equal(found?.job.state, 'queued');
    assert.equal(found?.job.workerId, '');
    assert.equal(found?.job.reason, 'worker w-1 is at capacity');
    assert.equal(found?.attempts.length, 1);
    assert.ok(await store.markDispatched(job.id, 1, 'w-2', 3));
  });

  test('requeueForRetry ends the attempt and queues the next one, once', async () => {
    const job = await dispatchedJob(store, 'w-1');
    await report(store, job.id, 1, 'w-1', { state: 'running' }, 2);
    const lost = { state: 'lost' as const, error: 'worker w-1 stopped answering' };
    assert.ok(await store.requeueForRetry(job.id, 1, 'w-1', 'finish', lost, 500, 'retrying', 3));
    assert.equal(await store.requeueForRetry(job.id, 1, 'w-1', 'finish', lost, 500, 'retrying', 4), undefined);
    const found = await store.getJob(job.id);
    assert.equal(found?.job.state, 'queued');
    assert.equal(found?.job.attempt, 2);
    assert.equal(found?.job.nextAttemptAt, 500);
    assert.equal(found?.job.error, 'worker w-1 stopped answering');
    assert.deepEqual(
      found?.attempts.map((a) => [a.number, a.workerId, a.state, a.finishedAt]),
      [
        [1, 'w-1', 'lost', 3],
        [2, '', 'queued', null],
      ],
    );
    // A late report of attempt 1 changes nothing.
    assert.deepEqual(await report(store, job.id, 1, 'w-1', { state: 'stopped' }, 5), { applied: false, current: undefined });
    assert.ok(await store.markDispatched(job.id, 2, 'w-2', 6));
    assert.equal((await report(store, job.id, 2, 'w-2', { state: 'succeeded', exitCode: 0 }, 7)).applied, true);
    assert.equal((await store.getJob(job.id))?.job.nextAttemptAt, null);
  });

  test('every job write stores its event in its own transaction: the job view as written', async () => {
    const before = await store.lastEventId();
    const job = newJob();
    await store.createJob(job);
    await store.markDispatched(job.id, 1, 'w-1', 2);
    await report(store, job.id, 1, 'w-1', { state: 'running' }, 3);
    await store.applyStatus(job.id, 1, 'w-1', 'disconnect', { state: 'unknown', reason: 'worker w-1 stopped answering' }, 4);
    await store.applyStatus(job.id, 1, 'w-1', 'reconnect', { state: 'running' }, 5);
    await report(store, job.id, 1, 'w-1', { state: 'succeeded', exitCode: 0 }, 6);
    // Refused: no event.
    await report(store, job.id, 1, 'w-1', { state: 'failed' }, 7);
    const events = await store.eventsAfter(before, 100, { entityId: job.id });
    assert.deepEqual(
      events.map((e) => [(JSON.parse(e.data) as { state: string }).state, e.createdAt]),
      [
        ['queued', job.createdAt],
        ['dispatched', 2],
        ['running', 3],
        ['unknown', 4],
        ['running', 5],
        ['succeeded', 6],
      ],
    );
    assert.equal((JSON.parse(events[3]!.data) as { reason: string }).reason, 'worker w-1 stopped answering');
  });

  test('unknown is not final: it ends lost (final), or is retried; no report moves a lost job', async () => {
    const job = await dispatchedJob(store, 'w-1');
    assert.ok((await store.applyStatus(job.id, 1, 'w-1', 'disconnect', { state: 'unknown', reason: 'silent' }, 2)).applied);
    assert.equal((await store.getJob(job.id))?.attempts[0]?.state, 'unknown');
    assert.deepEqual(await store.applyStatus(job.id, 1, 'w-1', 'disconnect', { state: 'unknown' }, 3), { applied: false, current: 'unknown' });
    assert.ok((await store.applyStatus(job.id, 1, 'w-1', 'lose', { state: 'lost', error: 'gone' }, 4)).applied);
    for (const [transition, state] of [
      ['reconnect', 'running'],
      ['start', 'running'],
      ['finish', 'succeeded'],
    ] as const) {
      assert.deepEqual(await store.applyStatus(job.id, 1, 'w-1', transition, { state }, 5), { applied: false, current: 'lost' }, transition);
    }
    const retried = await dispatchedJob(store, 'w-1');
    // Only an unknown attempt is given up on: one whose worker answered again is left alone.
    assert.equal(await store.requeueForRetry(retried.id, 1, 'w-1', 'lose', { state: 'lost', error: 'gone' }, 9, 'retrying', 2), undefined);
    await store.applyStatus(retried.id, 1, 'w-1', 'disconnect', { state: 'unknown' }, 2);
    assert.equal((await store.requeueForRetry(retried.id, 1, 'w-1', 'lose', { state: 'lost', error: 'gone' }, 9, 'retrying', 3))?.state, 'queued');
  });

  test('listActiveJobs has every unfinished job; setReason shows on a queued one', async () => {
    const queued = newJob();
    await store.createJob(queued);
    await store.setReason(queued.id, 1, 'no worker has labels gpu=true', 2);
    const running = await dispatchedJob(store, 'w-3');
    const done = await dispatchedJob(store, 'w-3');
    await report(store, done.id, 1, 'w-3', { state: 'failed' }, 9);
    const active = await store.listActiveJobs();
    const ids = active.map((j) => j.id);
    assert.ok(ids.includes(queued.id) && ids.includes(running.id) && !ids.includes(done.id));
    assert.equal(active.find((j) => j.id === queued.id)?.reason, 'no worker has labels gpu=true');
  });

  test('listJobs is newest first, filters, and pages by cursor', async () => {
    const worker = `w-${uuidv7()}`;
    const base = Date.now() + 1000;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await dispatchedJob(store, worker, base + i)).id);
    const page1 = await store.listJobs({ workerId: worker, limit: 3 });
    assert.deepEqual(
      page1.jobs.map((j) => j.id),
      ids.slice(2).reverse(),
    );
    assert.equal(page1.nextCursor, ids[2]);
    const page2 = await store.listJobs({ workerId: worker, limit: 3, cursor: page1.nextCursor! });
    assert.deepEqual(
      page2.jobs.map((j) => j.id),
      ids.slice(0, 2).reverse(),
    );
    assert.equal(page2.nextCursor, null);
    assert.equal((await store.listJobs({ workerId: worker, state: 'running', limit: 10 })).jobs.length, 0);
  });

  test('workers upsert and change state', async () => {
    const w = {
      id: `w-${uuidv7()}`,
      address: '127.0.0.1:7072',
      labels: { zone: 'a' },
      capacity: 4,
      state: 'up' as const,
      lastHeartbeatAt: 1,
      registeredAt: 1,
      version: '0.1.0',
      drainingBy: '',
    };
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
    await store.setStoppedBy(job.id, 'ops', 4);
    await store.setStoppedBy(job.id, 'later', 4);
    assert.equal((await store.getJob(job.id))?.job.stoppedBy, 'ops');
  });

  test('tokens: create, unique live names, list, revoke, reuse a revoked name', async () => {
    const name = `t-${uuidv7()}`;
    const token = { id: uuidv7(), name, role: 'viewer', hash: 'a'.repeat(60) + uuidv7().slice(-4), createdAt: 1 };
    await store.createToken(token);
    await assert.rejects(store.createToken({ ...token, id: uuidv7(), hash: 'b'.repeat(64) }), TokenNameTaken);
    assert.deepEqual(
      (await store.listTokens()).find((t) => t.name === name),
      { ...token, revokedAt: null },
    );
    assert.equal((await store.revokeToken(name, 5))?.revokedAt, 5);
    assert.equal(await store.revokeToken(name, 6), undefined);
    assert.equal(
      (await store.listTokens()).find((t) => t.name === name),
      undefined,
    );
    assert.equal((await store.listTokens(true)).find((t) => t.name === name)?.revokedAt, 5);
    await store.createToken({ ...token, id: uuidv7(), hash: 'c'.repeat(60) + uuidv7().slice(-4), createdAt: 7 });
    assert.equal((await store.listTokens()).filter((t) => t.name === name).length, 1);
  });

  test('createJobs answers the jobs exactly as stored: queued, or placed at creation (dispatched, with its attempt)', async () => {
    const parent = newJob();
    const child = { ...newJob(), parentId: parent.id, pinnedWorker: 'w-1', idempotencyKey: 'k-created', requestHash: 'h' };
    const placed = { ...newJob(), workerId: 'w-2', timeoutMs: 1500 };
    const created = await store.createJobs([{ ...parent, runOn: 'all', children: [child.id] }, child, placed]);
    for (const job of created) assert.deepEqual(job, (await store.getJob(job.id))?.job, job.id);
    assert.deepEqual(
      created.map((j) => [j.state, j.workerId]),
      [
        ['queued', ''],
        ['queued', ''],
        ['dispatched', 'w-2'],
      ],
    );
    const attempts = (await store.getJob(placed.id))?.attempts;
    assert.deepEqual(
      attempts?.map((a) => [a.number, a.state, a.workerId]),
      [[1, 'dispatched', 'w-2']],
    );
    // A placed job goes on from dispatched as one that was marked so.
    assert.ok((await report(store, placed.id, 1, 'w-2', { state: 'succeeded', exitCode: 0, startedAt: 5 }, 6)).applied);
    assert.equal(await store.markDispatched(placed.id, 1, 'w-1', 7), undefined);
  });

  test('state changes return the job as stored', async () => {
    const job = newJob();
    const created = await store.createJob({ ...job, timeoutMs: 2500 });
    assert.equal(created.state, 'queued');
    assert.equal(created.timeoutMs, 2500);
    const dispatched = await store.markDispatched(job.id, 1, 'w-1', 2);
    assert.equal(dispatched?.state, 'dispatched');
    assert.equal(dispatched?.workerId, 'w-1');
    const running = await report(store, job.id, 1, 'w-1', { state: 'running' }, 3);
    assert.ok(running.applied);
    assert.equal(running.job.state, 'running');
    assert.equal(running.job.updatedAt, 3);
    assert.equal((await store.setStoppedBy(job.id, 'ops', 4))?.stoppedBy, 'ops');
    assert.equal(await store.setStoppedBy(job.id, 'later', 4), undefined);
    assert.equal((await store.getJob(job.id))?.job.timeoutMs, 2500);
  });

  test('requeueForRetry racing applyStatus on the same jobs: one wins each, no deadlock', async () => {
    const jobs = await Promise.all(Array.from({ length: 20 }, () => dispatchedJob(store, 'w-race')));
    const lost = { state: 'lost' as const, error: 'gone' };
    const results = await Promise.all(
      jobs.map(async (job) => {
        const [requeued, applied] = await Promise.all([
          store.requeueForRetry(job.id, 1, 'w-race', 'finish', lost, 1, 'retrying', 2),
          report(store, job.id, 1, 'w-race', { state: 'succeeded', exitCode: 0 }, 2),
        ]);
        return [requeued !== undefined, applied.applied];
      }),
    );
    for (const [requeued, applied] of results) assert.equal(Number(requeued) + Number(applied), 1);
  });

  test('createJobs is all or nothing; an idempotency key is unique per submitter', async () => {
    const first = { ...newJob(), idempotencyKey: `k-${uuidv7()}`, requestHash: 'h1' };
    await store.createJob(first);
    assert.equal((await store.findByIdempotencyKey('ci', first.idempotencyKey))?.id, first.id);
    assert.equal(await store.findByIdempotencyKey('someone-else', first.idempotencyKey), undefined);
    const other = newJob();
    await assert.rejects(store.createJobs([other, { ...newJob(), idempotencyKey: first.idempotencyKey }]), IdempotencyKeyTaken);
    assert.equal(await store.getJob(other.id), undefined);
    // Another submitter may use the same key.
    await store.createJob({ ...newJob(), submittedBy: 'someone-else', idempotencyKey: first.idempotencyKey });
  });

  test('of writes asked for together, one that fails fails alone and the others are stored', async () => {
    const first = { ...newJob(), idempotencyKey: `key-${uuidv7()}` };
    await store.createJob(first);
    const [a, b, c] = [newJob(), newJob(), newJob()];
    // Asked for in one turn of the event loop: one group, whose middle write breaks the key's uniqueness.
    const settled = await Promise.allSettled([
      store.createJob(a),
      store.createJobs([b, { ...newJob(), idempotencyKey: first.idempotencyKey }]),
      store.createJob(c),
      store.markDispatched(first.id, 1, 'w-1', Date.now()),
    ]);
    assert.deepEqual(
      settled.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
    );
    assert.ok((settled[1] as PromiseRejectedResult).reason instanceof IdempotencyKeyTaken);
    assert.equal((await store.getJob(a.id))?.job.state, 'queued');
    assert.equal(await store.getJob(b.id), undefined, 'the failing write left nothing behind');
    assert.equal((await store.getJob(c.id))?.job.state, 'queued');
    assert.equal((await store.getJob(first.id))?.job.state, 'dispatched');
  });

  test('a run_on-all parent: no attempt, never active, state summed up by setParentState', async () => {
    const parent = newJob();
    const children = [newJob(), newJob()].map((c) => ({ ...c, parentId: parent.id }));
    const created = await store.createJobs([{ ...parent, runOn: 'all', children: children.map((c) => c.id) }, ...children]);
    assert.deepEqual(
      created.map((j) => j.id),
      [parent.id, ...children.map((c) => c.id)],
    );
    assert.deepEqual(
      created[0]!.children,
      children.map((c) => c.id),
    );
    assert.equal(created[1]!.parentId, parent.id);
    assert.equal((await store.getJob(parent.id))?.attempts.length, 0);
    const active = (await store.listActiveJobs()).map((j) => j.id);
    assert.ok(!active.includes(parent.id) && active.includes(children[0]!.id));
    assert.deepEqual(await store.childStates(parent.id), ['queued', 'queued']);
    assert.equal((await store.setParentState(parent.id, 'running', 5))?.state, 'running');
    assert.equal(await store.setParentState(parent.id, 'running', 6), undefined);
    const done = await store.setParentState(parent.id, 'succeeded', 7);
    assert.equal(done?.finishedAt, 7);
    // Only a parent can be set this way.
    assert.equal(await store.setParentState(children[0]!.id, 'succeeded', 8), undefined);
  });

  test('events: increasing ids, replay after an id with filters, pruning keeps the newest', async () => {
    const entity = `j-${uuidv7()}`;
    const ids = await store.appendEvents([
      { kind: 'job', entityId: entity, data: '{"n":1}', createdAt: 1 },
      { kind: 'worker', entityId: 'w-1', data: '{"n":2}', createdAt: 1 },
      { kind: 'job', entityId: entity, data: '{"n":3}', createdAt: 2 },
    ]);
    assert.equal(ids.length, 3);
    assert.ok(ids[0]! < ids[1]! && ids[1]! < ids[2]!);
    assert.deepEqual((await store.eventsAfter(ids[0]!, 10)).map((e) => e.id).slice(0, 2), [ids[1], ids[2]]);
    assert.deepEqual(
      (await store.eventsAfter(0, 10, { entityId: entity })).map((e) => e.data),
      ['{"n":1}', '{"n":3}'],
    );
    assert.deepEqual(
      (await store.eventsAfter(ids[0]! - 1, 10, { kinds: ['worker'] })).map((e) => e.id),
      [ids[1]],
    );
    const more = await store.appendEvents(Array.from({ length: 10 }, (_, i) => ({ kind: 'job', entityId: entity, data: String(i), createdAt: 3 })));
    // Keep the newest 4; at most 3 go per call.
    assert.equal(await store.pruneEvents(4, 3), 3);
    const left = await store.eventsAfter(0, 100_000);
    assert.ok(left.length > 4);
    while ((await store.pruneEvents(4, 3)) > 0);
    assert.deepEqual(
      (await store.eventsAfter(0, 100)).map((e) => e.id),
      more.slice(-4),
    );
  });

  test('workers: draining is recorded', async () => {
    const w = { id: `w-${uuidv7()}`, address: '127.0.0.1:7072', labels: {}, capacity: 1, state: 'up' as const, lastHeartbeatAt: 1, registeredAt: 1, version: '', drainingBy: '' };
    await store.upsertWorker(w);
    await store.setWorkerDraining(w.id, 'root');
    assert.equal((await store.listWorkers()).find((x) => x.id === w.id)?.drainingBy, 'root');
    await store.setWorkerDraining(w.id, '');
    assert.equal((await store.listWorkers()).find((x) => x.id === w.id)?.drainingBy, '');
  });

  test('schedules: unique names, change, advance never moves the cursor back, delete', async () => {
    const name = `nightly-${uuidv7()}`;
    const schedule: ScheduleRecord = {
      name,
      cron: '0 3 * * *',
      timezone: 'Europe/Berlin',
      job: { command: 'echo', args: ['hi'] },
      overlap: 'skip',
      catchupWindowMs: 60_000,
      paused: false,
      cursorAt: 1_000,
      bufferedFor: null,
      missed: 0,
      lastMissedAt: null,
      createdBy: 'ci',
      createdAt: 1_000,
      updatedAt: 1_000,
    };
    await store.schedules.create(schedule);
    assert.deepEqual(await store.schedules.get(name), schedule);
    await assert.rejects(store.schedules.create(schedule), ScheduleNameTaken);
    assert.equal((await store.schedules.update(name, { paused: true, overlap: 'buffer_one' }, 2_000))?.paused, true);
    await store.schedules.advance(name, 5_000, 2, 4_000);
    await store.schedules.advance(name, 3_000, 1, null);
    await store.schedules.setBuffered(name, 4_500);
    const advanced = await store.schedules.get(name);
    assert.deepEqual(
      { cursorAt: advanced?.cursorAt, missed: advanced?.missed, lastMissedAt: advanced?.lastMissedAt, bufferedFor: advanced?.bufferedFor, overlap: advanced?.overlap },
      { cursorAt: 5_000, missed: 3, lastMissedAt: 4_000, bufferedFor: 4_500, overlap: 'buffer_one' },
    );
    assert.ok((await store.schedules.list()).some((s) => s.name === name));
    assert.equal(await store.schedules.delete(name), true);
    assert.equal(await store.schedules.get(name), undefined);
    assert.equal(await store.schedules.update(name, { paused: false }, 3_000), undefined);
  });

  test('one job per (schedule, tick): a second is refused; runs by hand (no tick) are not; listed by schedule', async () => {
    const schedule = `s-${uuidv7()}`;
    const tick = Date.parse('2026-03-29T01:00:00Z');
    const first = { ...newJob(), schedule, scheduledFor: tick };
    await store.createJobs([first]);
    await assert.rejects(store.createJobs([{ ...newJob(), schedule, scheduledFor: tick }]), TickTaken);
    // The same tick of another schedule, and two runs triggered by hand, are all fine.
    await store.createJobs([{ ...newJob(), schedule: `${schedule}-other`, scheduledFor: tick }]);
    const byHand = [
      { ...newJob(), schedule, scheduledFor: null },
      { ...newJob(), schedule, scheduledFor: null },
    ];
    await store.createJobs(byHand);
    const { jobs } = await store.listJobs({ schedule, limit: 10 });
    assert.deepEqual(
      jobs.map((j) => [j.id, j.schedule, j.scheduledFor]),
      [...byHand.reverse().map((j) => [j.id, schedule, null]), [first.id, schedule, tick]],
    );
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

// PostgreSQL is part of this machine (and of CI); BATON_TEST_PG=skip leaves it out where it is not.
describe('store on PostgreSQL', { skip: PG_ADMIN_URL === 'skip' && 'BATON_TEST_PG=skip' }, () => {
  // A fresh database per run, made by the first case and dropped after the store has closed.
  const name = `baton_test_${process.pid}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 5000 });
  admin.on('error', () => {});
  let created = false;
  conformance(
    async () => {
      await admin.connect().catch((err: Error) => {
        throw new Error(`PostgreSQL not reachable at ${PG_ADMIN_URL} (${err.message}); start it, or set BATON_TEST_PG=skip`);
      });
      await admin.query(`CREATE DATABASE ${name}`);
      created = true;
      const url = new URL(PG_ADMIN_URL);
      url.pathname = `/${name}`;
      return Store.open(url.toString());
    },
    async () => {
      if (created) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  );
});

describe('store startup checks', () => {
  test('a store whose schema is newer than this binary is refused', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'baton-store-newer-'));
    const url = `sqlite:${path.join(dir, 'baton.db')}`;
    try {
      const store = await Store.open(url);
      await store.close();
      // What a newer Baton would have left: a migration this one has never heard of.
      const { default: Sqlite } = await import('better-sqlite3');
      const raw = new Sqlite(path.join(dir, 'baton.db'));
      raw.prepare('insert into kysely_migration (name, timestamp) values (?, ?)').run('999_from_the_future', new Date().toISOString());
      raw.close();
      await assert.rejects(Store.open(url), /has a newer schema than this Baton \(it has migration 999_from_the_future, this binary knows up to \d+_\w+\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an unreachable PostgreSQL is one sentence naming where, without the password', async () => {
    await assert.rejects(Store.open('postgres://baton:secret@127.0.0.1:1/baton'), (err: Error) => {
      assert.match(err.message, /^cannot reach PostgreSQL at postgres:\/\/baton:\*\*\*@127\.0\.0\.1:1\/baton: connection refused; is it running/);
      assert.doesNotMatch(err.message, /secret/);
      return true;
    });
  });
});
