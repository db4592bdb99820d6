// Fleet scheduling against real processes: placement by labels, the queue (capacity, priority,
// its bound), and liveness (a SIGKILLed worker's job is lost, then retried elsewhere).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startScheduler, startWorker, jobsDir, getJson, eventually, waitForFinal, type SchedulerHandle } from './harness.js';

type Json = Record<string, unknown>;

async function submit(scheduler: SchedulerHandle, body: unknown): Promise<{ status: number; json: Json; headers: Headers }> {
  const res = await fetch(`${scheduler.api}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Json, headers: res.headers };
}

async function job(scheduler: SchedulerHandle, id: string): Promise<Json> {
  return (await getJson(`${scheduler.api}/v1/jobs/${id}`)).json;
}

async function whenState(scheduler: SchedulerHandle, id: string, state: string, timeoutMs = 20_000): Promise<Json> {
  return eventually(
    async () => {
      const j = await job(scheduler, id);
      return j.state === state ? j : undefined;
    },
    `job ${id} to be ${state}`,
    timeoutMs,
  );
}

async function stop(scheduler: SchedulerHandle, id: string): Promise<void> {
  const res = await fetch(`${scheduler.api}/v1/jobs/${id}/stop`, { method: 'POST' });
  assert.equal(res.status, 200, await res.text());
}

const scripts = {
  'ok.sh': '#!/bin/bash\necho ok\n',
  'long.sh': '#!/bin/bash\nsleep 600\n',
  // The worker knows attempt n > 1 as "<job id>.n": the first attempt hangs, a retry finishes.
  'second-time-lucky.sh': '#!/bin/bash\ncase "$BATON_JOB_ID" in *.2) echo done ;; *) sleep 600 ;; esac\n',
  'fails-first.sh': '#!/bin/bash\ncase "$BATON_JOB_ID" in *.2) echo done ;; *) exit 3 ;; esac\n',
};

describe('placement', () => {
  it('a job without worker_id goes to a worker carrying its labels', async () => {
    const jobs = jobsDir(scripts);
    const scheduler = await startScheduler();
    const [, gpu] = await Promise.all([startWorker(scheduler, { jobsDir: jobs }), startWorker(scheduler, { jobsDir: jobs, args: ['--label', 'gpu=true'] })]);
    for (let i = 0; i < 3; i++) {
      const res = await submit(scheduler, { command: 'bash', path: 'ok.sh', labels: { gpu: 'true' } });
      assert.equal(res.status, 201, JSON.stringify(res.json));
      assert.equal(res.json.worker_id, gpu.id);
      assert.equal(res.json.state, 'dispatched');
      assert.equal((await waitForFinal(scheduler.api, String(res.json.id))).state, 'succeeded');
    }
  });

  it('a job needing a label nobody has stays queued and says why; it can be stopped', async () => {
    const scheduler = await startScheduler();
    await startWorker(scheduler, { jobsDir: jobsDir(scripts), args: ['--label', 'gpu=true'] });
    const res = await submit(scheduler, { command: 'bash', path: 'ok.sh', labels: { tpu: 'v5' } });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    assert.equal(res.json.state, 'queued');
    assert.equal(res.json.worker_id, null);
    const id = String(res.json.id);
    const queued = await eventually(async () => {
      const j = await job(scheduler, id);
      return j.reason ? j : undefined;
    }, 'the reason to be recorded');
    assert.equal(queued.state, 'queued');
    assert.equal(queued.reason, 'no worker has labels tpu=v5');
    const listed = ((await getJson(`${scheduler.api}/v1/jobs?state=queued`)).json.jobs as Json[]).find((j) => j.id === id);
    assert.equal(listed?.reason, 'no worker has labels tpu=v5');
    await stop(scheduler, id);
    const stopped = await job(scheduler, id);
    assert.equal(stopped.state, 'stopped');
    assert.equal(stopped.reason, null);
  });

  it('a job waiting for labels nobody has does not hold new jobs back: they are stored placed', async () => {
    const scheduler = await startScheduler();
    await startWorker(scheduler, { jobsDir: jobsDir(scripts) });
    const waiting = await submit(scheduler, { command: 'bash', path: 'ok.sh', labels: { tpu: 'v5' } });
    assert.equal(waiting.json.state, 'queued');
    await eventually(async () => ((await job(scheduler, String(waiting.json.id))).reason ? true : undefined), 'the reason to be recorded');
    const next = await submit(scheduler, { command: 'bash', path: 'ok.sh' });
    assert.equal(next.status, 201, JSON.stringify(next.json));
    assert.equal(next.json.state, 'dispatched');
    const id = String(next.json.id);
    const created = await scheduler.waitForLog((l) => l.job_id === id && l.msg === 'job state changed');
    assert.equal(created.transition, 'createPlaced', 'placed before it was stored, not queued and then dispatched by a pass');
    assert.equal((await waitForFinal(scheduler.api, id)).state, 'succeeded');
    assert.equal((await job(scheduler, String(waiting.json.id))).state, 'queued');
  });

  it('capacity: a second job waits for the first, then queued jobs start by priority, then arrival', async () => {
    const scheduler = await startScheduler();
    const worker = await startWorker(scheduler, { jobsDir: jobsDir(scripts), args: ['--capacity', '1'] });
    const first = await submit(scheduler, { command: 'bash', path: 'long.sh' });
    assert.equal(first.json.state, 'dispatched');
    const second = await submit(scheduler, { command: 'bash', path: 'long.sh' });
    assert.equal(second.status, 201);
    assert.equal(second.json.state, 'queued');
    assert.match(String(second.json.reason), /at capacity/);
    await whenState(scheduler, String(first.json.id), 'running');

    await stop(scheduler, String(first.json.id));
    const started = await whenState(scheduler, String(second.json.id), 'running');
    assert.equal(started.worker_id, worker.id);

    const low = await submit(scheduler, { command: 'bash', path: 'long.sh', priority: 0 });
    const high = await submit(scheduler, { command: 'bash', path: 'long.sh', priority: 5 });
    const alsoHigh = await submit(scheduler, { command: 'bash', path: 'long.sh', priority: 5 });
    for (const r of [low, high, alsoHigh]) assert.equal(r.json.state, 'queued');

    await stop(scheduler, String(second.json.id));
    await whenState(scheduler, String(high.json.id), 'running');
    assert.equal((await job(scheduler, String(alsoHigh.json.id))).state, 'queued');
    assert.equal((await job(scheduler, String(low.json.id))).state, 'queued');

    await stop(scheduler, String(high.json.id));
    await whenState(scheduler, String(alsoHigh.json.id), 'running');
    assert.equal((await job(scheduler, String(low.json.id))).state, 'queued');

    await stop(scheduler, String(alsoHigh.json.id));
    await whenState(scheduler, String(low.json.id), 'running');
    await stop(scheduler, String(low.json.id));

    // Nothing waits and one slot is free: of a new batch, the higher priority is placed as it is stored.
    const batch = await fetch(`${scheduler.api}/v1/jobs/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        jobs: [
          { command: 'bash', path: 'long.sh', priority: 0 },
          { command: 'bash', path: 'long.sh', priority: 5 },
        ],
      }),
    });
    const [later, sooner] = ((await batch.json()) as { jobs: Json[] }).jobs;
    assert.deepEqual([later!.state, sooner!.state], ['queued', 'dispatched']);
    for (const j of [sooner!, later!]) await stop(scheduler, String(j.id));
  });

  it('a full queue answers 429 with Retry-After', async () => {
    const scheduler = await startScheduler({ args: ['--max-queued', '2'] });
    for (let i = 0; i < 2; i++) {
      const res = await submit(scheduler, { command: 'true' });
      assert.equal(res.status, 201);
      assert.equal(res.json.state, 'queued');
    }
    const refused = await submit(scheduler, { command: 'true' });
    assert.equal(refused.status, 429);
    assert.match(String(refused.json.error), /queue is full/);
    assert.ok(Number(refused.headers.get('retry-after')) > 0, 'Retry-After is set');
  });
});

describe('liveness and retries', () => {
  it("a SIGKILLed worker's job ends lost on attempt 1 and succeeds on attempt 2 elsewhere", async () => {
    const jobs = jobsDir(scripts);
    const scheduler = await startScheduler({ args: ['--heartbeat-interval', '200ms', '--heartbeat-ttl', '1s', '--lost-after', '1s'] });
    const doomed = await startWorker(scheduler, { jobsDir: jobs });
    const res = await submit(scheduler, { command: 'bash', path: 'second-time-lucky.sh', retry: { max_attempts: 2, on: ['lost'], backoff: { base: 0.2, cap: 1 } } });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    assert.equal(res.json.worker_id, doomed.id);
    const id = String(res.json.id);
    await whenState(scheduler, id, 'running');
    const spare = await startWorker(scheduler, { jobsDir: jobs });
    await doomed.kill('SIGKILL');

    const done = await waitForFinal(scheduler.api, id, 60_000);
    assert.equal(done.state, 'succeeded', JSON.stringify(done));
    assert.equal(done.worker_id, spare.id);
    assert.equal(done.attempt, 2);
    const attempts = done.attempts as Json[];
    assert.equal(attempts.length, 2);
    assert.equal(attempts[0]!.worker_id, doomed.id);
    assert.equal(attempts[0]!.state, 'lost');
    // Its heartbeat stream breaks as it dies; the lease running out would say "no heartbeat for Ns".
    assert.match(String(attempts[0]!.error), new RegExp(`worker ${doomed.id} stopped answering \\((its heartbeat stream broke|no heartbeat for \\d+s)\\); no answer within 1s`));
    assert.equal(attempts[1]!.worker_id, spare.id);
    assert.equal(attempts[1]!.state, 'succeeded');
    assert.equal(attempts[1]!.exit_code, 0);
    const output = await fetch(`${scheduler.api}/v1/jobs/${id}/output`).then((r) => r.text());
    assert.equal(output, 'done\n');
  });

  it('a retry waits for its time saying why, then starts on an idle cluster', async () => {
    const scheduler = await startScheduler();
    await startWorker(scheduler, { jobsDir: jobsDir(scripts) });
    const res = await submit(scheduler, { command: 'bash', path: 'fails-first.sh', retry: { max_attempts: 2, on: ['failed'], backoff: { base: 4, cap: 4 } } });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    const id = String(res.json.id);
    const waiting = await eventually(async () => {
      const j = await job(scheduler, id);
      return j.attempt === 2 ? j : undefined;
    }, 'attempt 2 to be queued');
    assert.equal(waiting.state, 'queued');
    // The reason it was queued with stays: what ended, and when the next attempt starts.
    assert.match(String(waiting.reason), /^attempt 1 failed .*; attempt 2 from \d{4}-/);
    const done = await waitForFinal(scheduler.api, id);
    assert.equal(done.state, 'succeeded', JSON.stringify(done));
    assert.equal(done.attempt, 2);
  });

  it('without a retry policy a lost job stays lost', async () => {
    const jobs = jobsDir(scripts);
    const scheduler = await startScheduler({ args: ['--heartbeat-interval', '200ms', '--heartbeat-ttl', '1s', '--lost-after', '1s'] });
    const doomed = await startWorker(scheduler, { jobsDir: jobs });
    const res = await submit(scheduler, { command: 'bash', path: 'long.sh' });
    const id = String(res.json.id);
    await whenState(scheduler, id, 'running');
    await doomed.kill('SIGKILL');
    const done = await waitForFinal(scheduler.api, id);
    assert.equal(done.state, 'lost');
    assert.match(String(done.error), /stopped answering/);
    assert.equal((done.attempts as Json[]).length, 1);
  });
});
