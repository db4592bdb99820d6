// A busy worker (4 or more jobs not ended) holds a job's running report a moment for its end
// (src/worker/report-hold.ts), against real processes: a short job is still seen running, then
// ended, on the event stream; a job whose output is read live is seen running once its output is.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, getJson, jobsDir, startScheduler, startWorker, waitForFinal, type SchedulerHandle, type WorkerHandle } from './harness.js';
import { SseReader } from './support/sse.js';

type Json = Record<string, unknown>;

const scripts = {
  'long.sh': '#!/bin/bash\nsleep 600\n',
  'talk.sh': '#!/bin/bash\necho started\nsleep 600\n',
};

describe('status reports of a busy worker', () => {
  let scheduler: SchedulerHandle;
  let worker: WorkerHandle;
  const submit = async (body: Json): Promise<string> => {
    const res = await fetch(`${scheduler.api}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ worker_id: worker.id, ...body }),
    });
    const json = (await res.json()) as Json;
    assert.equal(res.status, 201, JSON.stringify(json));
    return String(json.id);
  };
  const stateOf = async (id: string): Promise<unknown> => (await getJson(`${scheduler.api}/v1/jobs/${id}`)).json.state;

  before(async () => {
    scheduler = await startScheduler();
    worker = await startWorker(scheduler, { jobsDir: jobsDir(scripts), args: ['--capacity', '16'] });
    // Four long jobs keep the worker busy: from here on it holds running reports.
    const long = await Promise.all([1, 2, 3, 4].map(() => submit({ command: 'bash', path: 'long.sh' })));
    for (const id of long) await eventually(async () => ((await stateOf(id)) === 'running' ? true : undefined), `long job ${id} running`);
  });

  it('a short job is announced running, then succeeded, each once and in order', async () => {
    const stream = await SseReader.open(`${scheduler.api}/v1/events`);
    try {
      const ids = await Promise.all([1, 2, 3].map(() => submit({ command: 'true' })));
      for (const id of ids) assert.equal((await waitForFinal(scheduler.api, id)).state, 'succeeded');
      for (const id of ids) {
        await stream.next((e) => e.event === 'job' && e.data.id === id && e.data.state === 'succeeded');
        const states = stream.received.filter((e) => e.event === 'job' && e.data.id === id).map((e) => e.data.state);
        assert.deepEqual(states, ['dispatched', 'running', 'succeeded'], `job ${id}`);
      }
    } finally {
      stream.close();
    }
  });

  it('a job whose output is read live is running by the time its output is seen', async () => {
    const id = await submit({ command: 'bash', path: 'talk.sh' });
    const res = await fetch(`${scheduler.api}/v1/jobs/${id}/output?follow=true`);
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('started')) {
      const { value, done } = await reader.read();
      assert.ok(!done, `the output ended before "started": ${JSON.stringify(text)}`);
      text += Buffer.from(value).toString();
    }
    assert.equal(await stateOf(id), 'running');
    await reader.cancel();
  });

  after(async () => {
    const { json } = await getJson(`${scheduler.api}/v1/jobs?state=running`);
    for (const job of json.jobs as Json[]) await fetch(`${scheduler.api}/v1/jobs/${String(job.id)}/stop`, { method: 'POST' });
  });
});
