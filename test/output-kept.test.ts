// Job output outlives its worker: each ended attempt's output is kept by the scheduler.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startScheduler, startWorker, jobsDir, eventually, waitForFinal, submitJob } from './harness.js';

type Json = Record<string, unknown>;

async function output(api: string, query: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${api}${query}`);
  return { status: res.status, text: await res.text() };
}

describe('kept output', () => {
  it('the output of every attempt is read after the worker was SIGKILLed and never came back', async () => {
    const jobs = jobsDir({
      // Fails on its first attempt, succeeds on its second (the worker knows it as <id>.2); ~3 MB of lines each, so several stored pieces.
      'twice.sh':
        '#!/bin/bash\nif [[ "$BATON_JOB_ID" != *.2 ]]; then seq 1 400000 | sed "s/^/first /"; echo "first: failing" >&2; exit 3; fi\nseq 1 400000 | sed "s/^/second /"; echo "second: done"\n',
    });
    const scheduler = await startScheduler();
    const worker = await startWorker(scheduler, { jobsDir: jobs });
    const id = await submitJob(scheduler.api, { worker_id: worker.id, command: 'bash', path: 'twice.sh', retry: { max_attempts: 2, backoff: { base: 0.1 }, on: ['failed'] } });
    const done = await waitForFinal(scheduler.api, id);
    assert.equal(done.state, 'succeeded', JSON.stringify(done));
    assert.equal(done.attempt, 2);
    for (const attempt of [1, 2]) {
      await scheduler.waitForLog((l) => l.msg === 'job output kept' && l.job_id === id && l.attempt === attempt);
    }
    const live = await output(scheduler.api, `/v1/jobs/${id}/output?attempt=1`);
    await worker.kill('SIGKILL');

    const first = await output(scheduler.api, `/v1/jobs/${id}/output?attempt=1`);
    assert.equal(first.status, 200, first.text.slice(0, 300));
    assert.equal(first.text, live.text, 'the same bytes the worker served');
    const firstLines = first.text.split('\n');
    assert.equal(firstLines.filter((l) => l.startsWith('first ')).length, 400000);
    assert.ok(first.text.includes('first: failing\n'));
    assert.ok(!first.text.includes('second'));

    const second = await output(scheduler.api, `/v1/jobs/${id}/output`);
    assert.equal(second.status, 200, second.text.slice(0, 300));
    assert.equal(second.text.split('\n').filter((l) => l.startsWith('second ')).length, 400000);
    assert.ok(second.text.endsWith('400000\nsecond: done\n'));
    assert.deepEqual((await output(scheduler.api, `/v1/jobs/${id}/output?attempt=2&follow=true`)).text, second.text, 'following an ended job gives it whole');
  });

  it('an output its worker reported empty is kept as empty, read after the worker was SIGKILLed', async () => {
    const scheduler = await startScheduler();
    const worker = await startWorker(scheduler);
    const silent = await submitJob(scheduler.api, { worker_id: worker.id, command: 'true' });
    assert.equal((await waitForFinal(scheduler.api, silent)).state, 'succeeded');
    const spoke = await submitJob(scheduler.api, { worker_id: worker.id, command: 'echo', args: ['said'] });
    await waitForFinal(scheduler.api, spoke);
    // A copied output, to know the copies before it are done (they go in order).
    const copied = await submitJob(scheduler.api, { worker_id: worker.id, command: 'seq', args: ['1', '100000'] });
    await waitForFinal(scheduler.api, copied);
    await scheduler.waitForLog((l) => l.msg === 'job output kept' && l.job_id === copied);
    // Recorded with the end, or sent in it (small), not copied: no copy of either is logged.
    assert.equal(scheduler.logs.filter((l) => l.msg === 'job output kept' && (l.job_id === silent || l.job_id === spoke)).length, 0);
    await worker.kill('SIGKILL');
    const read = await eventually(async () => {
      const res = await output(scheduler.api, `/v1/jobs/${silent}/output`);
      return res.status === 200 ? res : undefined;
    }, 'the empty output read from the store');
    assert.equal(read.text, '');
    for (const stream of ['stdout', 'stderr']) {
      const one = await output(scheduler.api, `/v1/jobs/${silent}/output?stream=${stream}`);
      assert.deepEqual([one.status, one.text], [200, ''], `its ${stream} is empty too`);
    }
    assert.equal((await output(scheduler.api, `/v1/jobs/${spoke}/output`)).text, 'said\n');
    assert.equal((await output(scheduler.api, `/v1/jobs/${spoke}/output?stream=stdout`)).text, 'said\n');
  });

  it('?tail=N lines and ?offset=B, from the kept copy and from the worker of a running job', async () => {
    const scheduler = await startScheduler();
    const worker = await startWorker(scheduler);
    const done = await submitJob(scheduler.api, { worker_id: worker.id, command: 'seq', args: ['1', '100000'] });
    await waitForFinal(scheduler.api, done);
    await scheduler.waitForLog((l) => l.msg === 'job output kept' && l.job_id === done);
    const whole = (await output(scheduler.api, `/v1/jobs/${done}/output`)).text;
    assert.deepEqual(await output(scheduler.api, `/v1/jobs/${done}/output?tail=3`), { status: 200, text: '99998\n99999\n100000\n' });
    assert.deepEqual(await output(scheduler.api, `/v1/jobs/${done}/output?offset=100000`), { status: 200, text: whole.slice(100000) });
    assert.deepEqual(await output(scheduler.api, `/v1/jobs/${done}/output?offset=${whole.length + 5}`), { status: 200, text: '' });
    const both = await output(scheduler.api, `/v1/jobs/${done}/output?tail=1&offset=3`);
    assert.equal(both.status, 400);
    assert.equal((JSON.parse(both.text) as Json).code, 'bad_request');

    const running = await submitJob(scheduler.api, { worker_id: worker.id, command: 'bash', args: ['-c', 'seq 1 50000; echo last; sleep 30'] });
    const tail = await eventually(async () => {
      const res = await output(scheduler.api, `/v1/jobs/${running}/output?tail=2`);
      return res.text.endsWith('last\n') ? res : undefined;
    }, 'the running job wrote its lines');
    assert.deepEqual(tail, { status: 200, text: '50000\nlast\n' });
    const resumed = await output(scheduler.api, `/v1/jobs/${running}/output?offset=6`);
    assert.ok(resumed.text.startsWith('4\n5\n6\n'), resumed.text.slice(0, 20));
  });
});
