// Workers that restart without killing their jobs: the jobs run under a supervisor that
// outlives `baton worker`, and a worker started again on the same data folder takes them back.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomInt } from 'node:crypto';
import { BatonClient } from '../src/client/index.js';
import { startScheduler, startWorker, startProcess, jobsDir, getJson, eventually, waitForFinal, processesMatching, type SchedulerHandle, submitJob } from './harness.js';

type Json = Record<string, unknown>;

const LINES = 400;
// Sleep lengths no other process uses, so the test finds exactly its own processes.
const marker = `${200 + randomInt(100)}.${randomInt(1000)}`;

async function allRunning(scheduler: SchedulerHandle, ids: string[]): Promise<void> {
  await eventually(async () => {
    for (const id of ids) if ((await getJson(`${scheduler.api}/v1/jobs/${id}`)).json.state !== 'running') return undefined;
    return true;
  }, `${ids.length} jobs running`);
}

function endRecords(dataDir: string): string[] {
  const dir = path.join(dataDir, 'ends');
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
}

describe('worker restart', () => {
  it('SIGKILLed during 4 long jobs and restarted: all succeed with one attempt and whole output; a job that exits 7 meanwhile is failed, exit 7; a timeout still applies', async () => {
    const jobs = jobsDir({
      'writer.sh': `#!/bin/bash\nfor i in $(seq 1 ${LINES}); do echo "line $i"; sleep 0.01; done\n`,
      'long.sh': '#!/bin/bash\nsleep 4\necho done\n',
      'seven.sh': '#!/bin/bash\nwhile [ ! -e "$(dirname "$0")/go" ]; do sleep 0.05; done\nexit 7\n',
      'forever.sh': `#!/bin/bash\nsleep ${marker}4\n`,
    });
    const scheduler = await startScheduler();
    const worker = await startWorker(scheduler, { jobsDir: jobs });
    const writer = await submitJob(scheduler.api, { worker_id: worker.id, command: 'bash', path: 'writer.sh' });
    const longs = [];
    for (let i = 0; i < 3; i++) longs.push(await submitJob(scheduler.api, { worker_id: worker.id, command: 'bash', path: 'long.sh' }));
    const seven = await submitJob(scheduler.api, { worker_id: worker.id, command: 'bash', path: 'seven.sh' });
    const timed = await submitJob(scheduler.api, { worker_id: worker.id, command: 'bash', path: 'forever.sh', timeout: 6 });
    await allRunning(scheduler, [writer, ...longs, seven, timed]);

    await worker.kill('SIGKILL');
    // The exit-7 job ends while no worker is there: its end is written down by the supervisor.
    writeFileSync(path.join(jobs, 'go'), '');
    await eventually(async () => (endRecords(worker.dataDir).length > 0 ? true : undefined), 'the end of the exit-7 job recorded');
    const again = await startWorker(scheduler, { jobsDir: jobs, dataDir: worker.dataDir });
    assert.equal(again.id, worker.id);

    for (const id of [writer, ...longs]) {
      const done = await waitForFinal(scheduler.api, id);
      assert.equal(done.state, 'succeeded', JSON.stringify(done));
      assert.equal((done.attempts as Json[]).length, 1, JSON.stringify(done.attempts));
    }
    const failed = await waitForFinal(scheduler.api, seven);
    assert.equal(failed.state, 'failed', JSON.stringify(failed));
    assert.equal(failed.exit_code, 7, JSON.stringify(failed));
    assert.equal((failed.attempts as Json[]).length, 1);
    const timedOut = await waitForFinal(scheduler.api, timed);
    assert.equal(timedOut.state, 'timed_out', JSON.stringify(timedOut));
    assert.equal(timedOut.error, 'timed out after 6s');
    assert.equal((timedOut.attempts as Json[]).length, 1);
    const output = await (await fetch(`${scheduler.api}/v1/jobs/${writer}/output`)).text();
    assert.equal(output, Array.from({ length: LINES }, (_, i) => `line ${i + 1}\n`).join(''), 'every line once, in order');
    assert.deepEqual(endRecords(worker.dataDir), [], 'the end records taken in are gone');
    await Promise.all([again.kill(), scheduler.kill()]);
  });

  it('`baton logs -f` and a /stream reader carry on across the worker SIGKILLed and restarted: every line once, in order', async () => {
    const count = 600;
    const jobs = jobsDir({ 'count.sh': `#!/bin/bash\nfor i in $(seq 1 ${count}); do echo "line $i"; sleep 0.01; done\n` });
    const scheduler = await startScheduler();
    const worker = await startWorker(scheduler, { jobsDir: jobs });
    const id = await submitJob(scheduler.api, { worker_id: worker.id, command: 'bash', path: 'count.sh' });
    await allRunning(scheduler, [id]);

    const logs = startProcess('baton logs -f', ['logs', '-f', '--addr', scheduler.api, id]);
    let printed = '';
    logs.child.stdout!.on('data', (chunk: string) => (printed += chunk));
    const reconnects: number[] = [];
    const streamed = (async () => {
      const decoder = new TextDecoder();
      let text = '';
      const client = new BatonClient({ address: scheduler.api });
      for await (const chunk of client.stream({ worker_id: worker.id, job_id: id }, { onReconnecting: (_e, offset) => reconnects.push(offset) })) {
        text += decoder.decode(chunk, { stream: true });
      }
      return text;
    })();
    await eventually(async () => (/line 50\n/.test(printed) ? true : undefined), 'logs -f to print 50 lines');
    await worker.kill('SIGKILL');
    const again = await startWorker(scheduler, { jobsDir: jobs, dataDir: worker.dataDir });

    const expected = Array.from({ length: count }, (_, i) => `line ${i + 1}\n`).join('');
    assert.deepEqual(await logs.exited, { code: 0, signal: null }, logs.output.join(''));
    assert.equal(printed, expected, 'logs -f: every line once, in order');
    assert.match(logs.output.join(''), /baton: the output broke off \(.+\); following again from byte \d+ when it can/);
    assert.equal(await streamed, expected, '/stream: every line once, in order');
    assert.ok(reconnects.length > 0 && reconnects.every((offset) => offset > 0), `the /stream reader resumed mid-output (at ${reconnects.join(', ')})`);
    const done = await waitForFinal(scheduler.api, id);
    assert.equal(done.state, 'succeeded', JSON.stringify(done));
    assert.equal((done.attempts as Json[]).length, 1);
    await Promise.all([again.kill(), scheduler.kill()]);
  });

  it('re-attaches 16 running jobs (time and supervisor memory printed); stop works on a re-attached job', async (t) => {
    const jobs = jobsDir({ 'sleeper.sh': `#!/bin/bash\nsleep ${marker}1\n` });
    const scheduler = await startScheduler();
    const worker = await startWorker(scheduler, { jobsDir: jobs });
    const ids = [];
    for (let i = 0; i < 16; i++) ids.push(await submitJob(scheduler.api, { worker_id: worker.id, command: 'bash', path: 'sleeper.sh' }));
    await allRunning(scheduler, ids);
    const supervisor = Number((await worker.waitForLog((l) => l.msg === 'connected to the job supervisor')).supervisor_pid);
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${supervisor}/status`, 'utf8'))?.[1]);
    await worker.kill('SIGKILL');

    const started = Date.now();
    const again = startProcess('worker again', ['worker', ...worker.child.spawnargs.slice(worker.child.spawnargs.indexOf('worker') + 1)]);
    await again.waitForLog((l) => l.msg === 'took back the jobs the last worker process left to its supervisor');
    const tookBackMs = Date.now() - started;
    await again.waitForLog((l) => l.msg === 'worker registered');
    const registeredMs = Date.now() - started;
    t.diagnostic(`re-attach of 16 running jobs: ${tookBackMs} ms from process start to jobs taken back, ${registeredMs} ms to registered with them`);
    t.diagnostic(`supervisor RSS with 16 jobs: ${Math.round(rssKb / 1024)} MB (${Math.round(rssKb / 16)} kB per job)`);
    assert.equal((await processesMatching(`sleep ${marker}1`)).length, 16, 'none was killed');

    const stop = await fetch(`${scheduler.api}/v1/jobs/${ids[0]}/stop`, { method: 'POST' });
    assert.equal(stop.status, 200, await stop.text());
    const stopped = await waitForFinal(scheduler.api, ids[0]!);
    assert.equal(stopped.state, 'stopped', JSON.stringify(stopped));
    await again.kill('SIGTERM');
    await eventually(async () => ((await processesMatching(`sleep ${marker}1`)).length === 0 ? true : undefined), 'a draining worker stops what is left');
    await scheduler.kill();
  });

  it('SIGQUIT leaves the jobs running; a second worker on the same data folder is refused; one that never returns has its jobs stopped after --reattach-window', async () => {
    const jobs = jobsDir({ 'sleeper.sh': `#!/bin/bash\nsleep ${marker}2\n` });
    const scheduler = await startScheduler();
    const worker = await startWorker(scheduler, { jobsDir: jobs, args: ['--reattach-window', '2s'] });
    const id = await submitJob(scheduler.api, { worker_id: worker.id, command: 'bash', path: 'sleeper.sh' });
    await allRunning(scheduler, [id]);

    const second = startProcess('second worker', [
      'worker',
      '--insecure',
      '--listen',
      '127.0.0.1:0',
      '--scheduler',
      scheduler.grpc,
      '--data-dir',
      worker.dataDir,
      '--jobs-dir',
      jobs,
    ]);
    assert.equal((await second.exited).code, 1);
    assert.match(second.output.join('\n'), /another baton worker \(pid \d+\) is using the data folder/);

    assert.deepEqual(await worker.kill('SIGQUIT'), { code: 0, signal: null });
    assert.equal((await processesMatching(`sleep ${marker}2`)).length, 1, 'the job outlived the worker');
    await eventually(async () => ((await processesMatching(`sleep ${marker}2`)).length === 0 ? true : undefined), 'the job stopped after the window');
    // The process is gone a moment before the supervisor has heard its exit and written the record.
    const record = await eventually(async () => endRecords(worker.dataDir)[0], 'its end recorded');
    assert.equal(JSON.parse(readFileSync(path.join(worker.dataDir, 'ends', record), 'utf8')).orphanedAfterMs, 2_000);
    await scheduler.kill();
  });

  it('a re-attached job keeps its cgroup (its memory limit still ends it); a cut-short end record: the job is lost once, with a log line', {
    skip: process.getuid?.() !== 0 && 'cgroups need root',
  }, async () => {
    const jobs = jobsDir({
      'hungry.sh': '#!/bin/bash\nwhile [ ! -e "$(dirname "$0")/eat" ]; do sleep 0.05; done\nhead -c 200M /dev/zero | tail\n',
      'three.sh': '#!/bin/bash\nwhile [ ! -e "$(dirname "$0")/go" ]; do sleep 0.05; done\nexit 3\n',
    });
    const scheduler = await startScheduler();
    const worker = await startWorker(scheduler, { jobsDir: jobs, args: ['--max-memory', '1GiB'] });
    const hungry = await submitJob(scheduler.api, { worker_id: worker.id, command: 'bash', path: 'hungry.sh', resources: { memory: '64MiB' } });
    const three = await submitJob(scheduler.api, { worker_id: worker.id, command: 'bash', path: 'three.sh' });
    await allRunning(scheduler, [hungry, three]);
    await worker.kill('SIGKILL');
    writeFileSync(path.join(jobs, 'go'), '');
    await eventually(async () => (endRecords(worker.dataDir).length > 0 ? true : undefined), 'the end of the exit-3 job recorded');
    const [record] = endRecords(worker.dataDir);
    writeFileSync(path.join(worker.dataDir, 'ends', record!), '{"jobId":"'); // as after a disk filled up

    const again = await startWorker(scheduler, { jobsDir: jobs, dataDir: worker.dataDir, args: ['--max-memory', '1GiB'] });
    await again.waitForLog((l) => l.msg === 'took back the jobs the last worker process left to its supervisor' && l.running === 1);
    writeFileSync(path.join(jobs, 'eat'), '');
    const oom = await waitForFinal(scheduler.api, hungry);
    assert.equal(oom.state, 'failed', JSON.stringify(oom));
    assert.match(String(oom.error), /memory limit 64 MiB exceeded/);
    const lost = await waitForFinal(scheduler.api, three);
    assert.equal(lost.state, 'lost', JSON.stringify(lost));
    assert.equal((lost.attempts as Json[]).length, 1);
    const logged = await again.waitForLog((l) => l.job_id === three && typeof l.msg === 'string' && l.msg.includes('could not be read'));
    assert.match(String(logged.msg), /its end record .* could not be read \(not JSON/);
    assert.deepEqual(endRecords(worker.dataDir), [], 'moved aside: reported once');
    await Promise.all([again.kill(), scheduler.kill()]);
  });

  it('a job re-attached once, then worker and supervisor SIGKILLed together: the next start kills it and reports it lost', async () => {
    const jobs = jobsDir({ 'sleeper.sh': `#!/bin/bash\nsleep ${marker}3\n` });
    const scheduler = await startScheduler();
    const worker = await startWorker(scheduler, { jobsDir: jobs });
    const id = await submitJob(scheduler.api, { worker_id: worker.id, command: 'bash', path: 'sleeper.sh' });
    await allRunning(scheduler, [id]);
    await worker.kill('SIGKILL');
    const again = await startWorker(scheduler, { jobsDir: jobs, dataDir: worker.dataDir });
    const supervisor = Number((await again.waitForLog((l) => l.msg === 'connected to the job supervisor')).supervisor_pid);
    await again.waitForLog((l) => l.msg === 'took back the jobs the last worker process left to its supervisor');
    await again.kill('SIGKILL');
    process.kill(supervisor, 'SIGKILL');
    assert.equal((await processesMatching(`sleep ${marker}3`)).length, 1, 'nothing watches the job now');

    const third = await startWorker(scheduler, { jobsDir: jobs, dataDir: worker.dataDir });
    const done = await waitForFinal(scheduler.api, id);
    assert.equal(done.state, 'lost', JSON.stringify(done));
    assert.match(String((done.attempts as Json[])[0]!.error), /processes were still running and were killed when the worker restarted/);
    assert.equal((await processesMatching(`sleep ${marker}3`)).length, 0);
    await Promise.all([third.kill(), scheduler.kill()]);
  });
});
