// The TypeScript client against a real scheduler and worker: every call, the typed errors, abort.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { BatonApiError, BatonClient, BatonConnectionError, type Job } from '../src/client/index.js';
import { startScheduler, startWorker, jobsDir, freePort, type SchedulerHandle, type WorkerHandle } from './harness.js';

async function finished(client: BatonClient, id: string): Promise<Job> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const job = await client.getJob(id);
    if (['succeeded', 'failed', 'stopped', 'timed_out', 'lost'].includes(job.state)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.state}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('BatonClient against a real cluster', () => {
  let scheduler: SchedulerHandle;
  let worker: WorkerHandle;
  let client: BatonClient;

  before(async () => {
    const jobs = jobsDir({ 'hello.sh': '#!/bin/bash\necho "hello $1"\n' });
    scheduler = await startScheduler();
    worker = await startWorker(scheduler, { jobsDir: jobs });
    client = new BatonClient({ address: scheduler.api });
  });

  it('health and workers', async () => {
    assert.deepEqual(await client.health(), { status: 'ok' });
    const workers = await client.listWorkers();
    assert.deepEqual(
      workers.map((w) => w.id),
      [worker.id],
    );
    assert.equal(workers[0]!.state, 'up');
    const one = await client.getWorker(worker.id);
    assert.equal(one.id, worker.id);
    assert.equal(typeof one.capacity, 'number');
  });

  it('submits a job, reads its output, and gets it with its attempts', async () => {
    const job = await client.submitJob({ worker_id: worker.id, command: 'bash', args: ['-c', 'echo out; echo err >&2; exit 4'] });
    assert.equal(job.worker_id, worker.id);
    const chunks: Uint8Array[] = [];
    for await (const chunk of client.output(job.id, { follow: true })) {
      assert.ok(chunk instanceof Uint8Array);
      chunks.push(chunk);
    }
    assert.equal(Buffer.concat(chunks).toString(), 'out\nerr\n');
    const done = await finished(client, job.id);
    assert.equal(done.state, 'failed');
    assert.equal(done.exit_code, 4);
    const detail = await client.getJob(job.id);
    assert.equal(detail.attempts.length, 1);
    assert.equal(detail.attempts[0]!.worker_id, worker.id);
    assert.equal(await client.outputText(job.id), 'out\nerr\n');
  });

  it('lists with filters and iterates every page', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await client.submitJob({ worker_id: worker.id, command: 'true' })).id);
    await Promise.all(ids.map((id) => finished(client, id)));
    const page = await client.listJobs({ worker_id: worker.id, limit: 2 });
    assert.equal(page.jobs.length, 2);
    assert.equal(typeof page.next_cursor, 'string');
    const all: string[] = [];
    for await (const job of client.allJobs({ worker_id: worker.id, limit: 2 })) all.push(job.id);
    assert.deepEqual(all.slice(0, 3), [...ids].reverse(), 'newest first across pages');
    let pages = 0;
    for await (const p of client.jobPages({ limit: 2 })) {
      pages++;
      assert.ok(p.jobs.length <= 2);
    }
    assert.ok(pages >= 2);
    const succeeded = await client.listJobs({ state: 'succeeded', limit: 500 });
    assert.ok(succeeded.jobs.every((j) => j.state === 'succeeded'));
  });

  it('stops a running job; a second stop is a 409 BatonApiError', async () => {
    const job = await client.submitJob({ worker_id: worker.id, command: 'sleep', args: ['60'] });
    await waitFor(async () => (await client.getJob(job.id)).state === 'running');
    const stopped = await client.stopJob(job.id, { graceMs: 2000 });
    assert.equal(stopped.id, job.id);
    assert.equal((await finished(client, job.id)).state, 'stopped');
    const err = await client.stopJob(job.id).catch((e: unknown) => e);
    assert.ok(err instanceof BatonApiError);
    assert.equal(err.status, 409);
    assert.equal(err.method, 'POST');
    assert.equal(err.path, `/v1/jobs/${job.id}/stop`);
  });

  it('the original calls: start, query, stream, stop', async () => {
    const { job_id } = await client.start({ worker_id: worker.id, command: 'bash', path: 'hello.sh' });
    let text = '';
    for await (const chunk of client.stream({ worker_id: worker.id, job_id })) text += Buffer.from(chunk).toString();
    assert.equal(text, 'hello \n');
    await finished(client, job_id);
    const q = await client.query({ worker_id: worker.id, job_id });
    assert.equal(q.done, true);
    assert.equal(q.error, false);
    const sleeper = await client.submitJob({ worker_id: worker.id, command: 'sleep', args: ['60'] });
    assert.deepEqual(await client.stop({ worker_id: worker.id, job_id: sleeper.id }), { success: true });
  });

  it('an unknown job or worker is a 404 BatonApiError with the scheduler message', async () => {
    const err = await client.getJob('nope').catch((e: unknown) => e);
    assert.ok(err instanceof BatonApiError);
    assert.equal(err.status, 404);
    assert.match(err.message, /job "nope" not found/);
    const werr = await client.getWorker('nope').catch((e: unknown) => e);
    assert.ok(werr instanceof BatonApiError && werr.status === 404);
    const oerr = await client.outputText('nope').catch((e: unknown) => e);
    assert.ok(oerr instanceof BatonApiError && oerr.status === 404);
  });

  it('a bad request is a 400 naming the field', async () => {
    const err = await client.submitJob({ worker_id: worker.id, command: '' }).catch((e: unknown) => e);
    assert.ok(err instanceof BatonApiError);
    assert.equal(err.status, 400);
    assert.match(err.message, /command/);
  });

  it('abort stops a followed output stream', async () => {
    const job = await client.submitJob({ worker_id: worker.id, command: 'bash', args: ['-c', 'echo first; sleep 60'] });
    const controller = new AbortController();
    const seen: string[] = [];
    const err = await (async () => {
      for await (const chunk of client.output(job.id, { follow: true, signal: controller.signal })) {
        seen.push(Buffer.from(chunk).toString());
        controller.abort();
      }
    })().catch((e: unknown) => e);
    assert.deepEqual(seen, ['first\n']);
    assert.ok(err instanceof Error && err.name === 'AbortError', String(err));
    await client.stopJob(job.id);
  });

  it('an unreachable scheduler is a BatonConnectionError that says what to do', async () => {
    const address = `http://127.0.0.1:${await freePort()}`;
    const err = await new BatonClient({ address }).listWorkers().catch((e: unknown) => e);
    assert.ok(err instanceof BatonConnectionError);
    assert.equal(err.message, `cannot reach the scheduler at ${address} (connection refused): is \`baton scheduler\` running?`);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}
