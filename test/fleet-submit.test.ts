// Submitting to the fleet against real processes: Idempotency-Key, POST /v1/jobs/batch,
// run_on "all" (a parent job over one copy per worker), and timeout.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startScheduler, startWorker, jobsDir, getJson, eventually, waitForFinal, processesMatching, type SchedulerHandle, type WorkerHandle } from './harness.js';

type Json = Record<string, unknown>;

const scripts = {
  'ok.sh': '#!/bin/bash\necho ok\n',
  'long.sh': '#!/bin/bash\nsleep 600\n',
  // A job and a child that both outlive any timeout, each marked so a survivor can be found.
  'forever.sh': '#!/bin/bash\nsleep 611 &\nsleep 612\n',
  'fail.sh': '#!/bin/bash\nexit 3\n',
};

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: Json }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Json };
}

async function jobCount(scheduler: SchedulerHandle): Promise<number> {
  return ((await getJson(`${scheduler.api}/v1/jobs?limit=500`)).json.jobs as Json[]).length;
}

describe('fleet submit', () => {
  let scheduler: SchedulerHandle;
  let workers: WorkerHandle[];

  before(async () => {
    scheduler = await startScheduler();
    const jobs = jobsDir(scripts);
    workers = await Promise.all([startWorker(scheduler, { jobsDir: jobs, args: ['--label', 'zone=a'] }), startWorker(scheduler, { jobsDir: jobs, args: ['--label', 'zone=b'] })]);
  });

  it('Idempotency-Key: the same request answers 200 with the first job, a different one 409', async () => {
    const url = `${scheduler.api}/v1/jobs`;
    const key = { 'idempotency-key': 'deploy-42' };
    const first = await post(url, { command: 'bash', path: 'ok.sh', args: [] }, key);
    assert.equal(first.status, 201, JSON.stringify(first.json));
    // The same body with its keys in another order is the same request.
    const again = await post(url, { args: [], path: 'ok.sh', command: 'bash' }, key);
    assert.equal(again.status, 200, JSON.stringify(again.json));
    assert.equal(again.json.id, first.json.id);
    const other = await post(url, { command: 'bash', path: 'fail.sh' }, key);
    assert.equal(other.status, 409, JSON.stringify(other.json));
    assert.match(String(other.json.error), /Idempotency-Key/);
    assert.match(String(other.json.error), new RegExp(String(first.json.id)));
    // Concurrent repeats of a new key make one job between them.
    const racing = await Promise.all(Array.from({ length: 5 }, () => post(url, { command: 'bash', path: 'ok.sh' }, { 'idempotency-key': 'race' })));
    assert.equal(new Set(racing.map((r) => r.json.id)).size, 1, JSON.stringify(racing));
    assert.deepEqual(racing.map((r) => r.status).sort(), [200, 200, 200, 200, 201]);
    const tooLong = await post(url, { command: 'bash', path: 'ok.sh' }, { 'idempotency-key': 'k'.repeat(201) });
    assert.equal(tooLong.status, 400);
    assert.match(String(tooLong.json.error), /Idempotency-Key/);
  });

  it('batch: 201 with every job in order; a bad item is a 400 naming it, and nothing is created', async () => {
    const url = `${scheduler.api}/v1/jobs/batch`;
    const ok = await post(url, {
      jobs: [
        { command: 'bash', path: 'ok.sh' },
        { command: 'bash', path: 'fail.sh', priority: 2 },
        { command: 'bash', path: 'ok.sh', labels: { zone: 'b' } },
      ],
    });
    assert.equal(ok.status, 201, JSON.stringify(ok.json));
    const made = ok.json.jobs as Json[];
    assert.equal(made.length, 3);
    assert.deepEqual(
      made.map((j) => j.path),
      ['ok.sh', 'fail.sh', 'ok.sh'],
    );
    const finals = await Promise.all(made.map((j) => waitForFinal(scheduler.api, String(j.id))));
    assert.deepEqual(
      finals.map((j) => j.state),
      ['succeeded', 'failed', 'succeeded'],
    );
    assert.equal(finals[2]!.worker_id, workers[1]!.id);

    const before = await jobCount(scheduler);
    const cases: [unknown, RegExp][] = [
      [{ jobs: [{ command: 'bash', path: 'ok.sh' }, { path: 'ok.sh' }] }, /^jobs\[1\]\.command is required$/],
      [
        {
          jobs: [
            { command: 'bash', path: 'ok.sh' },
            { command: 'bash', path: 'ok.sh' },
            { command: 'bash', retry: { max_attempts: 1000 } },
          ],
        },
        /^jobs\[2\]\.retry\.max_attempts /,
      ],
      [{ jobs: [{ command: 'bash', path: 'ok.sh', timeout: 0 }] }, /^jobs\[0\]\.timeout /],
      [
        {
          jobs: [
            { command: 'bash', path: 'ok.sh' },
            { command: 'bash', resources: { memory: 'lots' } },
          ],
        },
        /^jobs\[1\]\.resources\.memory/,
      ],
      [{ jobs: [] }, /^jobs /],
      [{}, /^jobs is required$/],
    ];
    for (const [body, message] of cases) {
      const bad = await post(url, body);
      assert.equal(bad.status, 400, JSON.stringify(body));
      assert.match(String(bad.json.error), message);
    }
    assert.equal(await jobCount(scheduler), before, 'no job was created by a refused batch');
  });

  it('batch: the 201 says of each job what GET /v1/jobs/:id says, non-ASCII text included', async () => {
    const res = await fetch(`${scheduler.api}/v1/jobs/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        jobs: [
          // No worker has zone=none: they stay queued, with a reason.
          { command: 'bash', path: 'ok.sh', labels: { zone: 'none' } },
          {
            command: 'bash',
            args: ['héllo ✓', '"quoted"\n'],
            env: { GREETING: 'grüß dich 🙂' },
            cwd: 'sub',
            labels: { zone: 'none', tier: 'ü' },
            priority: -3,
            retry: { max_attempts: 3, backoff: { base: 0.5, cap: 2 } },
            timeout: 1.5,
            concurrency: { key: 'k-ä', limit: 2 },
            name: 'näme',
            stdin: Buffer.from('input ✓').toString('base64'),
          },
        ],
      }),
    });
    const body = await res.text();
    assert.equal(res.status, 201, body);
    assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(Number(res.headers.get('content-length')), Buffer.byteLength(body));
    const made = (JSON.parse(body) as { jobs: Json[] }).jobs;
    assert.equal(made.length, 2);
    assert.equal(made[1]!.name, 'näme');
    // The audit line names them, as it read them from the answer.
    const audit = await eventually(
      async () => scheduler.logs.find((l) => l.msg === 'audit' && l.route === '/v1/jobs/batch' && Array.isArray(l.job_ids) && l.job_ids.includes(made[0]!.id)),
      'the audit line of the batch',
    );
    assert.deepEqual(
      audit.job_ids,
      made.map((j) => j.id),
    );
    for (const job of made) {
      assert.equal(job.state, 'queued');
      const { attempts, ...read } = (await getJson(`${scheduler.api}/v1/jobs/${String(job.id)}`)).json;
      assert.ok(Array.isArray(attempts));
      assert.deepEqual(job, read);
      await post(`${scheduler.api}/v1/jobs/${String(job.id)}/stop`, {});
    }
  });

  it('batch on one worker: its starts go together, and one it refuses fails alone with its words', async () => {
    const zoneA = { labels: { zone: 'a' } };
    const res = await post(`${scheduler.api}/v1/jobs/batch`, {
      jobs: [
        { command: 'bash', path: 'ok.sh', ...zoneA },
        { command: 'bash', path: 'missing.sh', ...zoneA },
        { command: 'bash', path: 'ok.sh', ...zoneA },
      ],
    });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    const made = res.json.jobs as Json[];
    assert.equal(made[1]!.state, 'failed', JSON.stringify(made[1]));
    assert.match(String(made[1]!.error), /missing\.sh/);
    const finals = await Promise.all(made.map((j) => waitForFinal(scheduler.api, String(j.id))));
    assert.deepEqual(
      finals.map((j) => [j.state, j.worker_id]),
      [
        ['succeeded', workers[0]!.id],
        ['failed', workers[0]!.id],
        ['succeeded', workers[0]!.id],
      ],
    );
  });

  it('run_on all: a parent with one copy per matching worker; its state sums theirs up', async () => {
    const res = await post(`${scheduler.api}/v1/jobs`, { command: 'bash', path: 'ok.sh', run_on: 'all' });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    const children = res.json.children as string[];
    assert.equal(children.length, 2);
    assert.equal(res.json.parent_id, null);
    const copies = await Promise.all(children.map((id) => waitForFinal(scheduler.api, id)));
    assert.deepEqual(copies.map((c) => c.worker_id).sort(), workers.map((w) => w.id).sort());
    assert.ok(copies.every((c) => c.parent_id === res.json.id && c.state === 'succeeded'));
    const parent = await waitForFinal(scheduler.api, String(res.json.id));
    assert.equal(parent.state, 'succeeded');
    assert.deepEqual(parent.children, children);

    // Labels narrow the fleet; stopping the parent stops its copies.
    const one = await post(`${scheduler.api}/v1/jobs`, { command: 'bash', path: 'long.sh', run_on: 'all', labels: { zone: 'a' } });
    assert.equal(one.status, 201);
    const [copy] = one.json.children as string[];
    assert.equal((one.json.children as string[]).length, 1);
    await eventually(async () => ((await getJson(`${scheduler.api}/v1/jobs/${String(one.json.id)}`)).json.state === 'running' ? true : undefined), 'the parent to run');
    const stop = await post(`${scheduler.api}/v1/jobs/${String(one.json.id)}/stop`, {});
    assert.equal(stop.status, 200, JSON.stringify(stop.json));
    assert.equal((await waitForFinal(scheduler.api, copy!)).state, 'stopped');
    const stopped = await waitForFinal(scheduler.api, String(one.json.id));
    assert.equal(stopped.state, 'stopped');
    assert.equal(stopped.stopped_by, 'anonymous');

    const none = await post(`${scheduler.api}/v1/jobs`, { command: 'bash', path: 'ok.sh', run_on: 'all', labels: { zone: 'mars' } });
    assert.equal(none.status, 409);
    assert.match(String(none.json.error), /zone=mars/);
    const pinned = await post(`${scheduler.api}/v1/jobs`, { command: 'bash', path: 'ok.sh', run_on: 'all', worker_id: workers[0]!.id });
    assert.equal(pinned.status, 400);
  });

  it('timeout is stored and shown in seconds; a bad one is a 400', async () => {
    const res = await post(`${scheduler.api}/v1/jobs`, { command: 'bash', path: 'ok.sh', timeout: 2.5 });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    assert.equal(res.json.timeout, 2.5);
    const stored = await waitForFinal(scheduler.api, String(res.json.id));
    assert.equal(stored.timeout, 2.5);
    const untimed = await post(`${scheduler.api}/v1/jobs`, { command: 'bash', path: 'ok.sh' });
    assert.equal(untimed.json.timeout, null);
    for (const timeout of [0, -1, 86_401, 'soon']) {
      const bad = await post(`${scheduler.api}/v1/jobs`, { command: 'bash', path: 'ok.sh', timeout });
      assert.equal(bad.status, 400, String(timeout));
      assert.match(String(bad.json.error), /timeout/);
    }
  });

  it('a job past its timeout has its process group stopped and ends timed_out', async () => {
    const res = await post(`${scheduler.api}/v1/jobs`, { command: 'bash', path: 'forever.sh', timeout: 1.5 });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    const done = await waitForFinal(scheduler.api, String(res.json.id));
    assert.equal(done.state, 'timed_out', JSON.stringify(done));
    const attempts = done.attempts as Json[];
    assert.equal(attempts.length, 1);
    assert.equal(attempts[0]!.state, 'timed_out');
    assert.equal(attempts[0]!.error, 'timed out after 1.5s');
    await eventually(async () => ((await processesMatching('sleep 61[12]')).length === 0 ? true : undefined), 'the timed-out job and its child to be gone');
  });
});
