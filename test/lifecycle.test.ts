// Processes coming and going: workers deregister on SIGTERM, the scheduler keeps history across restarts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startScheduler, startWorker, curlPost, getJson, eventually, waitForFinal, freePort } from './harness.js';

describe('lifecycle', () => {
  it('a worker stopped with SIGTERM stops its jobs, deregisters and exits 0', async () => {
    const scheduler = await startScheduler();
    const worker = await startWorker(scheduler);
    const start = await curlPost(`${scheduler.api}/start`, { worker_id: worker.id, command: 'bash', path: 'long.sh' });
    assert.equal(start.status, 201);
    const jobId = String(start.json.job_id);
    await eventually(async () => ((await getJson(`${scheduler.api}/v1/jobs/${jobId}`)).json.state === 'running' ? true : undefined), 'job running');
    const exit = await worker.kill('SIGTERM');
    assert.deepEqual(exit, { code: 0, signal: null });
    const { json } = await getJson(`${scheduler.api}/v1/workers/${worker.id}`);
    assert.equal(json.state, 'deregistered');
    const job = await waitForFinal(scheduler.api, jobId);
    assert.equal(job.state, 'stopped');
    await scheduler.kill();
  });

  it('a restarted scheduler keeps its job history, and the worker registers again with the same id', async () => {
    const grpcArgs = ['--grpc', `127.0.0.1:${await freePort()}`];
    const first = await startScheduler({ args: grpcArgs });
    const worker = await startWorker(first);
    const start = await curlPost(`${first.api}/start`, { worker_id: worker.id, command: 'bash', path: 'fail.sh' });
    const jobId = String(start.json.job_id);
    await waitForFinal(first.api, jobId);
    const exit = await first.kill('SIGTERM');
    assert.equal(exit.code, 0);

    const second = await startScheduler({ dataDir: first.dataDir, args: grpcArgs });
    const job = await waitForFinal(second.api, jobId);
    assert.equal(job.state, 'failed');
    assert.equal(job.exit_code, 3);
    const list = await getJson(`${second.api}/v1/jobs`);
    assert.ok((list.json.jobs as { id: string }[]).some((j) => j.id === jobId));

    // The worker finds the new scheduler by itself, under the id it had.
    await eventually(async () => (worker.logs.filter((l) => l.msg === 'worker registered').length >= 2 ? true : undefined), 'the worker to register again');
    const again = await getJson(`${second.api}/v1/workers/${worker.id}`);
    assert.equal(again.json.state, 'up');
    const next = await curlPost(`${second.api}/start`, { worker_id: worker.id, command: 'bash', path: 'stderr.sh' });
    assert.equal(next.status, 201, next.text);
    assert.equal((await waitForFinal(second.api, String(next.json.job_id))).state, 'succeeded');
    await second.kill();
    await worker.kill('SIGKILL');
  });
});
