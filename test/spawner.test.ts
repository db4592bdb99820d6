// The worker's process spawner (the jobs' supervisor): a killed worker's jobs run on for
// --reattach-window and are then stopped, and a dead spawner costs only the jobs it was running.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { startScheduler, startWorker, jobsDir, curlPost, eventually, waitForFinal, processesMatching } from './harness.js';

/** Pids of the direct children of `pid`: for a worker, its spawner (jobs are the spawner's children). */
function childrenOf(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

describe('spawner', () => {
  // A sleep length no other process on the machine uses, to find this test's processes.
  const marker = `${300 + randomInt(1000)}.${randomInt(1000)}`;

  async function startSleeper(api: string, workerId: string, script: string, sleep: string): Promise<string> {
    const start = await curlPost(`${api}/start`, { worker_id: workerId, command: 'bash', path: script });
    assert.equal(start.status, 201, start.text);
    await eventually(async () => ((await processesMatching(`sleep ${sleep}`)).length > 0 ? true : undefined), `sleep ${sleep} to run`);
    return String(start.json.job_id);
  }

  it('stops the jobs of a worker killed with SIGKILL once --reattach-window passes with no worker back', async () => {
    const jobs = jobsDir({ 'sleeper.sh': `#!/bin/bash\nsleep ${marker}1\n` });
    const scheduler = await startScheduler();
    const worker = await startWorker(scheduler, { jobsDir: jobs, args: ['--reattach-window', '1s'] });
    await startSleeper(scheduler.api, worker.id, 'sleeper.sh', `${marker}1`);
    await worker.kill('SIGKILL');
    assert.equal((await processesMatching(`sleep ${marker}1`)).length, 1, 'the job outlives the worker for the window');
    await eventually(async () => ((await processesMatching(`sleep ${marker}1`)).length === 0 ? true : undefined), 'the job of the killed worker to be killed');
  });

  it('fails the running jobs of a spawner that died, kills them, and runs later jobs with a new one', async () => {
    const jobs = jobsDir({ 'sleeper.sh': `#!/bin/bash\nsleep ${marker}2\n`, 'hello.sh': 'echo hello\n' });
    const scheduler = await startScheduler();
    const worker = await startWorker(scheduler, { jobsDir: jobs });
    const jobId = await startSleeper(scheduler.api, worker.id, 'sleeper.sh', `${marker}2`);
    const [spawnerPid, ...others] = childrenOf(worker.pid);
    assert.ok(spawnerPid !== undefined && others.length === 0, `expected one child of the worker (its spawner), found ${[spawnerPid, ...others].join(', ')}`);
    process.kill(spawnerPid, 'SIGKILL');

    const job = await waitForFinal(scheduler.api, jobId);
    assert.equal(job.state, 'failed');
    assert.match(String(job.error), /supervisor died/);
    await eventually(async () => ((await processesMatching(`sleep ${marker}2`)).length === 0 ? true : undefined), 'the lost job to be killed');
    await worker.waitForLog((l) => typeof l.msg === 'string' && l.msg.includes('supervisor died'));

    const next = await curlPost(`${scheduler.api}/start`, { worker_id: worker.id, command: 'bash', path: 'hello.sh' });
    assert.equal(next.status, 201, next.text);
    const done = await waitForFinal(scheduler.api, String(next.json.job_id));
    assert.equal(done.state, 'succeeded');
    const [newSpawner] = childrenOf(worker.pid);
    assert.ok(newSpawner !== undefined && newSpawner !== spawnerPid, 'a new spawner runs');
  });
});
