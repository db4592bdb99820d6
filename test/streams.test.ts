// Output streaming: from byte one, live, identical for every reader.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { startScheduler, startWorker, jobsDir, curlPost, eventually, type SchedulerHandle, type WorkerHandle } from './harness.js';

describe('output streams', () => {
  let scheduler: SchedulerHandle;
  let worker: WorkerHandle;

  before(async () => {
    const jobs = jobsDir({
      // Binary-ish, uneven chunks over about two seconds, with output already written before anyone reads.
      'chunks.sh': '#!/bin/bash\nfor i in $(seq 1 40); do head -c $((i * 997)) /dev/urandom | base64 -w 0; echo " line $i"; sleep 0.05; done\n',
    });
    scheduler = await startScheduler();
    worker = await startWorker(scheduler, { jobsDir: jobs });
  });

  it('gives two concurrent readers identical bytes from the first byte', async () => {
    const start = await curlPost(`${scheduler.api}/start`, { worker_id: worker.id, command: 'bash', path: 'chunks.sh' });
    assert.equal(start.status, 201);
    const jobId = String(start.json.job_id);
    // Let some output exist before the readers attach: they must still get it all.
    await eventually(async () => {
      const now = await fetch(`${scheduler.api}/v1/jobs/${jobId}/output`).then((r) => r.text());
      return now.includes(' line 3\n') ? true : undefined;
    }, 'the first lines of output');
    const [a, b, c] = await Promise.all([
      curlPost(`${scheduler.api}/stream`, { worker_id: worker.id, job_id: jobId }),
      curlPost(`${scheduler.api}/stream`, { worker_id: worker.id, job_id: jobId }),
      fetch(`${scheduler.api}/v1/jobs/${jobId}/output?follow=true`).then((r) => r.text()),
    ]);
    assert.equal(a.status, 200);
    assert.match(a.text, /^[A-Za-z0-9+/=]+ line 1\n/, 'starts at byte one');
    assert.ok(a.text.endsWith(' line 40\n'), 'follows to the end');
    assert.equal(a.text.split('\n').length, 41);
    assert.equal(b.text, a.text);
    assert.equal(c, a.text);
  });
});
