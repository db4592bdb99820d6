// The TypeScript client's fleet calls against a real cluster: placement, idempotent and batch
// submit, wait, live events, drain.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BatonClient, type BatonEvent } from '../src/client/index.js';
import { startScheduler, startWorker, jobsDir, type SchedulerHandle, type WorkerHandle } from './harness.js';

describe('BatonClient: fleet calls', () => {
  let scheduler: SchedulerHandle;
  let worker: WorkerHandle;
  let client: BatonClient;

  before(async () => {
    scheduler = await startScheduler();
    worker = await startWorker(scheduler, { jobsDir: jobsDir({ 'hi.sh': '#!/bin/bash\necho hi\n', 'nap.sh': '#!/bin/bash\nsleep 1\n' }), args: ['--label', 'zone=a'] });
    client = new BatonClient({ address: scheduler.api });
  });
  after(() => Promise.all([worker.kill(), scheduler.kill()]));

  it('submits without a worker (placed by labels) and waits for the end', async () => {
    const job = await client.submitJob({ command: 'bash', path: 'hi.sh', labels: { zone: 'a' } });
    const { done, job: final } = await client.waitJob(job.id, 60);
    assert.equal(done, true);
    assert.equal(final.state, 'succeeded');
    assert.equal(final.worker_id, worker.id);
    assert.equal(await client.outputText(job.id), 'hi\n');
  });

  it('waitJob answers done=false when the timeout passes first', async () => {
    const job = await client.submitJob({ command: 'bash', path: 'nap.sh' });
    const early = await client.waitJob(job.id, 0);
    assert.equal(early.done, false);
    assert.equal((await client.waitFinal(job.id)).state, 'succeeded');
  });

  it('an idempotency key gives the same job twice; a batch gives every job in order', async () => {
    const a = await client.submitJob({ command: 'bash', path: 'hi.sh' }, { idempotencyKey: 'client-key-1' });
    const b = await client.submitJob({ command: 'bash', path: 'hi.sh' }, { idempotencyKey: 'client-key-1' });
    assert.equal(a.id, b.id);
    const batch = await client.submitBatch([
      { command: 'bash', path: 'hi.sh' },
      { command: 'bash', path: 'hi.sh', priority: 5 },
    ]);
    assert.equal(batch.length, 2);
    assert.equal(batch[1]!.priority, 5);
  });

  it("events() streams a job's changes to its end; leaving the loop closes it", async () => {
    const job = await client.submitJob({ command: 'bash', path: 'nap.sh' });
    const states: string[] = [];
    let lastId = 0;
    for await (const e of client.events({ jobId: job.id, lastEventId: 0 })) {
      if (e.type !== 'job') continue;
      assert.ok(e.id > lastId, 'event ids grow');
      lastId = e.id;
      states.push(e.job.state);
      if (e.job.state === 'succeeded') break;
    }
    // An idle worker with room: placed before it is stored, so it is first seen dispatched.
    assert.equal(states[0], 'dispatched');
    assert.equal(states.at(-1), 'succeeded');
    assert.ok(states.includes('running'), states.join(','));
  });

  it('whoami: without tokens (--no-auth) the caller is anonymous, with every right', async () => {
    assert.deepEqual(await client.whoami(), { name: 'anonymous', role: 'admin', auth: false });
  });

  it('tokens: create, list (no secrets), revoke', async () => {
    const made = await client.createToken('client-ci', 'operator');
    assert.match(made.token, /^baton_/);
    const listed = await client.listTokens();
    const mine = listed.find((t) => t.name === 'client-ci');
    assert.equal(mine?.role, 'operator');
    assert.equal(mine !== undefined && 'token' in mine, false, 'no secret in the list');
    assert.ok((await client.revokeToken('client-ci')).revoked_at);
    assert.equal(
      (await client.listTokens()).some((t) => t.name === 'client-ci'),
      false,
    );
  });

  it('drain and undrain a worker; worker events say so', async () => {
    const seen: BatonEvent[] = [];
    const abort = new AbortController();
    const watching = (async () => {
      for await (const e of client.events({ types: ['worker'], signal: abort.signal })) {
        seen.push(e);
        if (e.type === 'worker' && e.worker.draining === false && seen.length > 1) return;
      }
    })().catch((err: unknown) => {
      if (!abort.signal.aborted) throw err;
    });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await client.drainWorker(worker.id)).draining, true);
    assert.equal((await client.getWorker(worker.id)).draining, true);
    assert.equal((await client.undrainWorker(worker.id)).draining, false);
    await watching;
    abort.abort();
    assert.deepEqual(
      seen.map((e) => (e.type === 'worker' ? e.worker.draining : undefined)),
      [true, false],
    );
  });
});
