// The README's curl walk-through, against a real scheduler and two real workers.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { startScheduler, startWorker, curlPost, getJson, waitForFinal, type SchedulerHandle, type WorkerHandle } from './harness.js';

describe('curl walk-through', () => {
  let scheduler: SchedulerHandle;
  let worker: WorkerHandle;

  before(async () => {
    scheduler = await startScheduler();
    [worker] = await Promise.all([startWorker(scheduler), startWorker(scheduler)]);
  });

  it('lists both workers, up, with their fields', async () => {
    const { status, json } = await getJson(`${scheduler.api}/v1/workers`);
    assert.equal(status, 200);
    const workers = json.workers as Record<string, unknown>[];
    assert.equal(workers.length, 2);
    for (const w of workers) {
      assert.equal(w.state, 'up');
      for (const field of ['id', 'address', 'labels', 'capacity', 'running', 'last_heartbeat']) assert.ok(field in w, `worker has ${field}`);
    }
    const one = await getJson(`${scheduler.api}/v1/workers/${worker.id}`);
    assert.equal(one.status, 200);
    assert.equal(one.json.id, worker.id);
  });

  it('starts count.sh, streams it from byte one, queries it done', async () => {
    const start = await curlPost(`${scheduler.api}/start`, { worker_id: worker.id, command: 'bash', path: 'count.sh' });
    assert.equal(start.status, 201);
    assert.deepEqual(Object.keys(start.json), ['job_id']);
    assert.equal(start.text, JSON.stringify({ job_id: start.json.job_id }));
    const jobId = String(start.json.job_id);

    const running = await curlPost(`${scheduler.api}/query`, { worker_id: worker.id, job_id: jobId });
    assert.equal(running.status, 200);
    assert.equal(running.json.done, false);
    assert.equal(running.json.error, false);
    assert.match(running.text, /^\{"done":false,"error":false,"error_text":""/);

    const stream = await curlPost(`${scheduler.api}/stream`, { worker_id: worker.id, job_id: jobId });
    assert.equal(stream.status, 200);
    assert.equal(stream.text, '1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n');

    const done = await curlPost(`${scheduler.api}/query`, { worker_id: worker.id, job_id: jobId });
    assert.equal(done.status, 200);
    assert.match(done.text, /^\{"done":true,"error":false,"error_text":""/);

    const job = await waitForFinal(scheduler.api, jobId);
    assert.equal(job.state, 'succeeded');
    assert.equal(job.exit_code, 0);
  });

  it('stops a running job', async () => {
    const start = await curlPost(`${scheduler.api}/start`, { worker_id: worker.id, command: 'bash', path: 'long.sh' });
    assert.equal(start.status, 201);
    const jobId = String(start.json.job_id);
    const stop = await curlPost(`${scheduler.api}/stop`, { worker_id: worker.id, job_id: jobId });
    assert.equal(stop.status, 200);
    assert.equal(stop.text, '{"success":true}');
    const query = await curlPost(`${scheduler.api}/query`, { worker_id: worker.id, job_id: jobId });
    assert.equal(query.json.done, true);
    assert.equal(query.json.error, true);
    assert.match(String(query.json.error_text), /stop/);
    const job = await waitForFinal(scheduler.api, jobId);
    assert.equal(job.state, 'stopped');
  });

  it('records a failing job with its exit code, and stderr in the output', async () => {
    const start = await curlPost(`${scheduler.api}/start`, { worker_id: worker.id, command: 'bash', path: 'fail.sh' });
    const jobId = String(start.json.job_id);
    const job = await waitForFinal(scheduler.api, jobId);
    assert.equal(job.state, 'failed');
    assert.equal(job.exit_code, 3);
    assert.match(String(job.error), /exited with code 3/);
    const attempts = job.attempts as Record<string, unknown>[];
    assert.equal(attempts.length, 1);
    assert.equal(attempts[0]!.worker_id, worker.id);
    assert.equal(attempts[0]!.exit_code, 3);
    const output = await fetch(`${scheduler.api}/v1/jobs/${jobId}/output`).then((r) => r.text());
    assert.equal(output, 'starting\nsomething went wrong\n');
  });

  it('keeps stdout and stderr in the order written', async () => {
    const start = await curlPost(`${scheduler.api}/start`, { worker_id: worker.id, command: 'bash', path: 'stderr.sh' });
    const stream = await curlPost(`${scheduler.api}/stream`, { worker_id: worker.id, job_id: start.json.job_id });
    assert.equal(stream.text, 'out 1\nerr 1\nout 2\nerr 2\nout 3\nerr 3\n');
  });
});
