// Stopping a job ends its whole process tree, and a job's leftovers die with it.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { startScheduler, startWorker, jobsDir, curlPost, eventually, waitForFinal, processesMatching, type SchedulerHandle, type WorkerHandle } from './harness.js';

describe('stop', () => {
  // A sleep length no other process on the machine uses, to find this test's processes.
  const marker = `${300 + randomInt(1000)}.${randomInt(1000)}`;
  let scheduler: SchedulerHandle;
  let worker: WorkerHandle;

  before(async () => {
    const jobs = jobsDir({
      'tree.sh': `#!/bin/bash\nsleep ${marker} &\nbash -c 'sleep ${marker} & wait' &\necho started\nwait\n`,
      'stubborn.sh': `#!/bin/bash\ntrap 'echo ignoring TERM' TERM\necho started\nwhile true; do sleep 0.1; done\n`,
      'leaves-child.sh': `#!/bin/bash\nsleep ${marker}1 &\necho leaving\n`,
    });
    scheduler = await startScheduler();
    worker = await startWorker(scheduler, { jobsDir: jobs, args: ['--stop-grace', '1s'] });
  });

  async function startAndWaitForOutput(path: string): Promise<string> {
    const start = await curlPost(`${scheduler.api}/start`, { worker_id: worker.id, command: 'bash', path });
    assert.equal(start.status, 201, start.text);
    const jobId = String(start.json.job_id);
    await eventually(async () => ((await fetch(`${scheduler.api}/v1/jobs/${jobId}/output`).then((r) => r.text())).includes('started') ? true : undefined), 'job output');
    return jobId;
  }

  it('kills children and grandchildren of a stopped job', async () => {
    const jobId = await startAndWaitForOutput('tree.sh');
    await eventually(async () => ((await processesMatching(`sleep ${marker}`)).length >= 2 ? true : undefined), 'the job to fork');
    const stop = await curlPost(`${scheduler.api}/stop`, { worker_id: worker.id, job_id: jobId });
    assert.equal(stop.status, 200);
    assert.deepEqual(await processesMatching(`sleep ${marker}`), []);
    const job = await waitForFinal(scheduler.api, jobId);
    assert.equal(job.state, 'stopped');
  });

  it('SIGKILLs a job that ignores SIGTERM after the grace period, and says so', async () => {
    const jobId = await startAndWaitForOutput('stubborn.sh');
    const stop = await fetch(`${scheduler.api}/v1/jobs/${jobId}/stop`, { method: 'POST' });
    assert.equal(stop.status, 200);
    const job = await waitForFinal(scheduler.api, jobId);
    assert.equal(job.state, 'stopped');
    assert.equal(job.signal, 'SIGKILL');
    assert.match(String(job.error), /SIGKILL after stop/);
  });

  it('leaves no background child behind when a job exits by itself', async () => {
    const start = await curlPost(`${scheduler.api}/start`, { worker_id: worker.id, command: 'bash', path: 'leaves-child.sh' });
    const job = await waitForFinal(scheduler.api, String(start.json.job_id));
    assert.equal(job.state, 'succeeded');
    await eventually(async () => ((await processesMatching(`sleep ${marker}1`)).length === 0 ? true : undefined), 'the leftover child to be killed');
  });

  it('answers 409 when stopping a job that already ended', async () => {
    const start = await curlPost(`${scheduler.api}/start`, { worker_id: worker.id, command: 'bash', path: 'leaves-child.sh' });
    await waitForFinal(scheduler.api, String(start.json.job_id));
    const stop = await curlPost(`${scheduler.api}/stop`, { worker_id: worker.id, job_id: start.json.job_id });
    assert.equal(stop.status, 409);
    assert.match(String(stop.json.error), /already ended/);
  });
});
