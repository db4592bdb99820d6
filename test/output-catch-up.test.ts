// Output that was not kept when its attempt ended is kept later: the leading scheduler sweeps
// for ended attempts on workers that are up without a kept copy (output-catch-up.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { submitJob, startScheduler, startWorker, freePort, tempDir, waitForFinal, eventually } from './harness.js';

const expected = (n: number): string => `${Array.from({ length: n }, (_, i) => i + 1).join('\n')}\n`;

describe('output catch-up', () => {
  it('an attempt that ended while its worker was gone is kept once the worker is back, and read after it is SIGKILLed', async () => {
    const scheduler = await startScheduler({ args: ['--heartbeat-interval', '300ms', '--heartbeat-ttl', '1s', '--lost-after', '1s'] });
    const worker = await startWorker(scheduler);
    const id = await submitJob(scheduler.api, { worker_id: worker.id, command: 'bash', args: ['-c', 'echo started; sleep 1; seq 2 100000'] });
    await eventually(async () => ((await (await fetch(`${scheduler.api}/v1/jobs/${id}/output`)).text()).startsWith('started') ? true : undefined), 'the job started');
    // Frozen, the worker stops heartbeating (its job, in a process group of its own, runs on):
    // the scheduler ends the attempt as lost, with no worker to copy its output from.
    worker.child.kill('SIGSTOP');
    const lost = await waitForFinal(scheduler.api, id);
    assert.equal(lost.state, 'lost', JSON.stringify(lost));
    assert.ok(!scheduler.logs.some((l) => l.msg === 'job output kept' && l.job_id === id));
    worker.child.kill('SIGCONT');
    await scheduler.waitForLog((l) => l.msg === 'catching up: keeping an output that was not kept when its attempt ended' && l.job_id === id);
    await scheduler.waitForLog((l) => l.msg === 'job output kept' && l.job_id === id);
    await worker.kill('SIGKILL');
    const res = await fetch(`${scheduler.api}/v1/jobs/${id}/output`);
    assert.equal(res.status, 200);
    const text = await res.text();
    // The whole: an attempt still running on the worker is not copied until its process ends.
    assert.equal(text, `started\n${expected(100000).slice(2)}`);
    await scheduler.kill();
  });

  it('an attempt that ended while the scheduler was stopped is kept once it is back, and read after the worker is SIGKILLed', async () => {
    const dataDir = tempDir('baton-catch-up-');
    const grpc = ['--grpc', `127.0.0.1:${await freePort()}`];
    const first = await startScheduler({ dataDir, args: grpc });
    const worker = await startWorker(first);
    const id = await submitJob(first.api, { worker_id: worker.id, command: 'bash', args: ['-c', 'echo started; sleep 2; seq 2 100000'] });
    await eventually(async () => ((await (await fetch(`${first.api}/v1/jobs/${id}/output`)).text()).startsWith('started') ? true : undefined), 'the job started');
    await first.kill('SIGKILL');
    // The job ends on the worker with no scheduler to tell.
    await worker.waitForLog((l) => l.msg === 'job succeeded' && String(l.job_id).startsWith(id));
    const second = await startScheduler({ dataDir, args: grpc });
    const done = await waitForFinal(second.api, id);
    assert.equal(done.state, 'succeeded', JSON.stringify(done));
    await second.waitForLog((l) => l.msg === 'job output kept' && l.job_id === id);
    await worker.kill('SIGKILL');
    const res = await fetch(`${second.api}/v1/jobs/${id}/output`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), `started\n${expected(100000).slice(2)}`);
    await second.kill();
  });
});
