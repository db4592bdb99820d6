// Faults around the jobs' supervisor: a data folder that belongs to another worker id, and a
// disk that is full when a job's end must be written down. Each: a clear log line, a defined
// outcome, and no job reported twice or dropped.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { randomInt } from 'node:crypto';
import { startScheduler, startWorker, startProcess, jobsDir, tempDir, getJson, eventually, waitForFinal, processesMatching, type SchedulerHandle, submitJob } from './harness.js';

type Json = Record<string, unknown>;

const marker = `${500 + randomInt(100)}.${randomInt(1000)}`;

async function allRunning(scheduler: SchedulerHandle, ids: string[]): Promise<void> {
  await eventually(async () => {
    for (const id of ids) if ((await getJson(`${scheduler.api}/v1/jobs/${id}`)).json.state !== 'running') return undefined;
    return true;
  }, `${ids.length} jobs running`);
}

/** A tmpfs of `size` bytes at a new folder, or undefined where mounting is not allowed (not root, no CAP_SYS_ADMIN). */
function smallDisk(size: number): { dir: string; unmount: () => void } | undefined {
  const dir = tempDir('baton-small-disk-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  return { dir, unmount: () => execFileSync('umount', ['-l', dir]) };
}

/** Writes to `file` until the file system has no room left. */
function fill(file: string): void {
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(4096, 1);
  try {
    for (;;) writeSync(fd, block);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}

const canMount = smallDisk(64 * 1024);
canMount?.unmount();

describe('worker faults', () => {
  it('a data folder whose supervisor runs another worker id: the worker refuses to start, saying so; the jobs go on and their own worker takes them back', async () => {
    // Waits for its go file: the job must still run when the other worker comes, however slow the machine.
    const jobs = jobsDir({ 'waiter.sh': '#!/bin/bash\nwhile [ ! -e "$(dirname "$0")/go" ]; do sleep 0.05; done\necho went\n' });
    const scheduler = await startScheduler({ args: ['--insecure'] });
    const worker = await startWorker(scheduler, { id: 'w-owner', jobsDir: jobs, args: ['--insecure'] });
    const id = await submitJob(scheduler.api, { worker_id: worker.id, command: 'bash', path: 'waiter.sh' });
    await allRunning(scheduler, [id]);
    assert.deepEqual(await worker.kill('SIGQUIT'), { code: 0, signal: null });

    const other = startProcess('worker w-other', [
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
      '--id',
      'w-other',
    ]);
    const timer = setTimeout(() => other.kill('SIGKILL'), 60_000); // a bug that lets it start must fail the test, not hang it
    assert.equal((await other.exited).code, 1, other.output.join(''));
    clearTimeout(timer);
    assert.match(
      other.output.join(''),
      /refused this worker: this supervisor runs the jobs of worker w-owner, not w-other \(a data folder belongs to one worker id\); its jobs keep running/,
    );

    const again = await startWorker(scheduler, { id: 'w-owner', jobsDir: jobs, dataDir: worker.dataDir, args: ['--insecure'] });
    await again.waitForLog((l) => l.msg === 'took back the jobs the last worker process left to its supervisor' && l.running === 1);
    writeFileSync(path.join(jobs, 'go'), '');
    const done = await waitForFinal(scheduler.api, id);
    assert.equal(done.state, 'succeeded', JSON.stringify(done));
    assert.equal((done.attempts as Json[]).length, 1);
    assert.equal(await (await fetch(`${scheduler.api}/v1/jobs/${id}/output`)).text(), 'went\n');
    await Promise.all([again.kill(), scheduler.kill()]);
  });

  it('an end record cut short while the worker was away: the job is reported lost once, with a log line; a record for no job of ours is set aside', async () => {
    const jobs = jobsDir({ 'three.sh': '#!/bin/bash\nwhile [ ! -e "$(dirname "$0")/go" ]; do sleep 0.05; done\nexit 3\n', 'sleeper.sh': `#!/bin/bash\nsleep ${marker}1\n` });
    const scheduler = await startScheduler();
    const worker = await startWorker(scheduler, { jobsDir: jobs });
    const three = await submitJob(scheduler.api, { worker_id: worker.id, command: 'bash', path: 'three.sh' });
    const sleeper = await submitJob(scheduler.api, { worker_id: worker.id, command: 'bash', path: 'sleeper.sh' });
    await allRunning(scheduler, [three, sleeper]);
    await worker.kill('SIGKILL');
    writeFileSync(path.join(jobs, 'go'), '');
    const ends = path.join(worker.dataDir, 'ends');
    await eventually(async () => (readdirSync(ends).includes(`${three}.json`) ? true : undefined), 'the end of the exit-3 job recorded');
    writeFileSync(path.join(ends, `${three}.json`), '{"jobId":"'); // as a write cut short
    writeFileSync(path.join(ends, 'not-a-job.json'), 'garbage');

    const again = await startWorker(scheduler, { jobsDir: jobs, dataDir: worker.dataDir });
    const lost = await waitForFinal(scheduler.api, three);
    assert.equal(lost.state, 'lost', JSON.stringify(lost));
    assert.equal((lost.attempts as Json[]).length, 1);
    assert.match(String(lost.error), /its end record .* could not be read \(not JSON/);
    const logged = await again.waitForLog((l) => l.job_id === three && typeof l.msg === 'string' && l.msg.includes('could not be read'));
    assert.equal(logged.level, 50, 'logged as an error');
    await again.waitForLog((l) => l.job_id === 'not-a-job' && typeof l.msg === 'string' && l.msg.includes('could not be read'));
    assert.deepEqual(readdirSync(ends).sort(), [`${three}.json.corrupt`, 'not-a-job.json.corrupt'], 'moved aside: read once');
    await allRunning(scheduler, [sleeper]);
    await Promise.all([again.kill(), scheduler.kill()]);
  });

  it('the disk full when a job ends: with its worker there, the end is still reported (exit 7) with a warning; with it away, the job is reported lost once when it is back', {
    skip: canMount === undefined && 'needs to mount a tmpfs (root with CAP_SYS_ADMIN)',
  }, async () => {
    const disk = smallDisk(4 * 1024 * 1024)!;
    try {
      const jobs = jobsDir({
        'seven.sh': '#!/bin/bash\nwhile [ ! -e "$(dirname "$0")/go7" ]; do sleep 0.05; done\nexit 7\n',
        'three.sh': '#!/bin/bash\nwhile [ ! -e "$(dirname "$0")/go3" ]; do sleep 0.05; done\nexit 3\n',
        'sleeper.sh': `#!/bin/bash\nsleep ${marker}\n`,
      });
      const dataDir = path.join(disk.dir, 'worker');
      mkdirSync(dataDir);
      const scheduler = await startScheduler();
      const worker = await startWorker(scheduler, { jobsDir: jobs, dataDir });
      const seven = await submitJob(scheduler.api, { worker_id: worker.id, command: 'bash', path: 'seven.sh' });
      const three = await submitJob(scheduler.api, { worker_id: worker.id, command: 'bash', path: 'three.sh' });
      // Keeps the supervisor there while no worker is: it is the one that must write the end.
      const sleeper = await submitJob(scheduler.api, { worker_id: worker.id, command: 'bash', path: 'sleeper.sh' });
      await allRunning(scheduler, [seven, three, sleeper]);
      fill(path.join(disk.dir, 'filler'));

      writeFileSync(path.join(jobs, 'go7'), '');
      const failed = await waitForFinal(scheduler.api, seven);
      assert.equal(failed.state, 'failed', JSON.stringify(failed));
      assert.equal(failed.exit_code, 7);
      const warned = await worker.waitForLog((l) => l.job_id === seven && typeof l.msg === 'string' && l.msg.includes('could not write the end record'));
      assert.match(String(warned.msg), /ENOSPC/);

      await worker.kill('SIGKILL');
      writeFileSync(path.join(jobs, 'go3'), '');
      await eventually(async () => ((await processesMatching(path.join(jobs, 'three.sh'))).length === 0 ? true : undefined), 'the exit-3 job to end while no worker is there');
      rmSync(path.join(disk.dir, 'filler')); // the operator frees the disk, then starts the worker again
      const again = await startWorker(scheduler, { jobsDir: jobs, dataDir });
      // The supervisor lived through the full disk: the sleeper is taken back, not killed as a leftover.
      await again.waitForLog((l) => l.msg === 'took back the jobs the last worker process left to its supervisor' && l.running === 1);
      await allRunning(scheduler, [sleeper]);
      const lost = await waitForFinal(scheduler.api, three);
      assert.equal(lost.state, 'lost', JSON.stringify(lost));
      assert.equal((lost.attempts as Json[]).length, 1);
      const logged = await again.waitForLog((l) => l.job_id === three && l.level !== undefined && typeof l.msg === 'string' && l.msg.startsWith('lost:'));
      assert.match(String(logged.msg), /its supervisor could not record its end \(see supervisor\.log in the data folder: a full disk\?\)/);
      assert.deepEqual(
        readdirSync(path.join(dataDir, 'ends')).filter((f) => f.endsWith('.json')),
        [],
      );
      const events = (await getJson(`${scheduler.api}/v1/jobs/${three}`)).json;
      assert.equal(events.state, 'lost');
      await Promise.all([again.kill(), scheduler.kill()]);
    } finally {
      disk.unmount();
    }
  });
});
