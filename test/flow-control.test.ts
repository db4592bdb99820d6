// Concurrency keys against real processes: each job writes its own start and end marks, and
// the limit is checked from those marks, not from what the scheduler says.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { baton } from './support/cli.js';
import { marksFile, mostAtOnce, spans } from './support/marks.js';
import { startScheduler, startWorker, jobsDir, getJson, eventually, waitForFinal, type SchedulerHandle } from './harness.js';

type Json = Record<string, unknown>;

async function submit(scheduler: SchedulerHandle, body: unknown): Promise<Json> {
  const res = await fetch(`${scheduler.api}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await res.json()) as Json;
  assert.equal(res.status, 201, JSON.stringify(json));
  return json;
}

async function whenState(scheduler: SchedulerHandle, id: string, state: string): Promise<Json> {
  return eventually(
    async () => {
      const { json } = await getJson(`${scheduler.api}/v1/jobs/${id}`);
      return json.state === state ? json : undefined;
    },
    `job ${id} to be ${state}`,
    30_000,
  );
}

const scripts = {
  // Appends "start|end <ns> <job id>" to $MARKS around a short sleep.
  'mark.sh': '#!/bin/bash\necho "start $(date +%s%N) $BATON_JOB_ID" >> "$MARKS"\nsleep 0.4\necho "end $(date +%s%N) $BATON_JOB_ID" >> "$MARKS"\n',
  // Appends "start|end <ns> $NAME" to $MARKS around a short sleep.
  'step.sh': '#!/bin/bash\necho "start $(date +%s%N) $NAME" >> "$MARKS"\nsleep 0.2\necho "end $(date +%s%N) $NAME" >> "$MARKS"\n',
  'ok.sh': '#!/bin/bash\necho ok\n',
  'fail.sh': '#!/bin/bash\nexit 3\n',
  'long.sh': '#!/bin/bash\nsleep 600\n',
};

async function batch(scheduler: SchedulerHandle, jobs: unknown[]): Promise<{ status: number; json: Json & { jobs: Json[] } }> {
  const res = await fetch(`${scheduler.api}/v1/jobs/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jobs }) });
  return { status: res.status, json: (await res.json()) as Json & { jobs: Json[] } };
}

describe('concurrency keys', () => {
  it('20 jobs of one key with limit 2 over two workers never run more than 2 at once', async () => {
    const jobs = jobsDir(scripts);
    const marks = marksFile();
    const scheduler = await startScheduler();
    await Promise.all([startWorker(scheduler, { jobsDir: jobs }), startWorker(scheduler, { jobsDir: jobs })]);
    const res = await fetch(`${scheduler.api}/v1/jobs/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        jobs: Array.from({ length: 20 }, () => ({ command: 'bash', path: 'mark.sh', env: { MARKS: marks }, concurrency: { key: 'deploy-prod', limit: 2 } })),
      }),
    });
    const batch = (await res.json()) as { jobs: Json[] };
    assert.equal(res.status, 201, JSON.stringify(batch));
    const waiting = batch.jobs.filter((j) => j.state === 'queued');
    assert.ok(waiting.length >= 18, `${waiting.length} of 20 queued at once`);
    // The first held back says the key is full; the others wait behind it, in arrival order.
    assert.match(String(waiting[0]!.reason), /^concurrency key deploy-prod is at its limit \(2 running: \S+, \S+\)$/);
    assert.equal(waiting.at(-1)!.reason, `concurrency key deploy-prod: waiting behind ${waiting[0]!.id}, an earlier job of the key`);
    for (const j of batch.jobs) {
      const done = await waitForFinal(scheduler.api, String(j.id));
      assert.equal(done.state, 'succeeded', await (await fetch(`${scheduler.api}/v1/jobs/${String(j.id)}/output`)).text());
    }
    const text = readFileSync(marks, 'utf8');
    assert.equal(text.trim().split('\n').length, 40);
    assert.ok(mostAtOnce(text) <= 2, `${mostAtOnce(text)} jobs ran at once:\n${text}`);
  });

  it('on_limit skip: the new job ends skipped at once, saying why; cancel_in_progress stops the running one and starts', async () => {
    const jobs = jobsDir(scripts);
    const scheduler = await startScheduler();
    await startWorker(scheduler, { jobsDir: jobs });
    const running = await submit(scheduler, { command: 'bash', path: 'long.sh', concurrency: { key: 'nightly', limit: 1 } });
    await whenState(scheduler, String(running.id), 'running');

    const skipped = await whenState(
      scheduler,
      String((await submit(scheduler, { command: 'bash', path: 'ok.sh', concurrency: { key: 'nightly', limit: 1, on_limit: 'skip' } })).id),
      'skipped',
    );
    assert.equal(skipped.reason, `concurrency key nightly is at its limit (1 running: ${running.id})`);
    assert.equal(skipped.worker_id, null);
    assert.equal((await getJson(`${scheduler.api}/v1/jobs/${running.id}`)).json.state, 'running');

    const newer = await submit(scheduler, { command: 'bash', path: 'ok.sh', concurrency: { key: 'nightly', limit: 1, on_limit: 'cancel_in_progress' } });
    const older = await waitForFinal(scheduler.api, String(running.id));
    assert.equal(older.state, 'stopped');
    assert.equal(older.stopped_by, `job ${newer.id} (concurrency key nightly, cancel_in_progress)`);
    assert.equal((await waitForFinal(scheduler.api, String(newer.id))).state, 'succeeded');
  });

  it('a bad concurrency rule is a 400 naming the field', async () => {
    const scheduler = await startScheduler();
    for (const concurrency of [{ key: 'k', limit: 0 }, { key: '', limit: 1 }, { key: 'k', limit: 1, on_limit: 'later' }, { key: 'k' }]) {
      const res = await fetch(`${scheduler.api}/v1/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ command: 'true', concurrency }),
      });
      const body = (await res.json()) as Json;
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(String(body.error), /concurrency/);
    }
  });
});

describe('dependencies', () => {
  it('a chain and a diamond submitted in one batch run in order, each after what it waits for', async () => {
    const jobs = jobsDir(scripts);
    const marks = marksFile();
    const scheduler = await startScheduler();
    await Promise.all([startWorker(scheduler, { jobsDir: jobs }), startWorker(scheduler, { jobsDir: jobs })]);
    const step = (name: string, after: string[] = []): Json => ({ command: 'bash', path: 'step.sh', env: { MARKS: marks, NAME: name }, ...(after.length > 0 && { after }) });
    // Chain c1 → c2 → c3; diamond d1 → (d2, d3) → d4. Listed out of order: references are by position.
    const res = await batch(scheduler, [step('c3', ['#1']), step('c2', ['#2']), step('c1'), step('d4', ['#4', '#5']), step('d2', ['#6']), step('d3', ['#6']), step('d1')]);
    assert.equal(res.status, 201, JSON.stringify(res.json));
    const [c3, c2, , d4] = res.json.jobs;
    assert.equal(c3!.state, 'waiting');
    assert.equal(c3!.reason, `waiting for job ${c2!.id} to succeed`);
    assert.deepEqual(c3!.after, [c2!.id]);
    assert.equal(d4!.reason, `waiting for jobs ${res.json.jobs[4]!.id} and ${res.json.jobs[5]!.id} to succeed`);
    for (const j of res.json.jobs) assert.equal((await waitForFinal(scheduler.api, String(j.id))).state, 'succeeded');
    const at = spans(readFileSync(marks, 'utf8'));
    const before = (a: string, b: string): void => assert.ok(at.get(a)!.end < at.get(b)!.start, `${b} started before ${a} ended`);
    before('c1', 'c2');
    before('c2', 'c3');
    before('d1', 'd2');
    before('d1', 'd3');
    before('d2', 'd4');
    before('d3', 'd4');
  });

  it('a failed job skips what follows it, transitively; after_condition finished runs anyway; stopping a job skips its waiters', async () => {
    const scheduler = await startScheduler();
    await startWorker(scheduler, { jobsDir: jobsDir(scripts) });
    const res = await batch(scheduler, [
      { command: 'bash', path: 'fail.sh' },
      { command: 'bash', path: 'ok.sh', after: ['#0'] },
      { command: 'bash', path: 'ok.sh', after: ['#1'] },
      { command: 'bash', path: 'ok.sh', after: ['#0'], after_condition: 'finished' },
    ]);
    assert.equal(res.status, 201, JSON.stringify(res.json));
    const [failed, next, last, cleanup] = res.json.jobs.map((j) => String(j.id));
    assert.equal((await waitForFinal(scheduler.api, failed!)).state, 'failed');
    const skipped = await waitForFinal(scheduler.api, next!);
    assert.equal(skipped.state, 'skipped');
    assert.equal(skipped.reason, `job ${failed} ended failed, and this job runs only after it succeeds`);
    assert.equal((skipped.attempts as Json[])[0]!.started_at, null);
    const after = await waitForFinal(scheduler.api, last!);
    assert.equal(after.state, 'skipped');
    assert.equal(after.reason, `job ${next} ended skipped, and this job runs only after it succeeds`);
    assert.equal((await waitForFinal(scheduler.api, cleanup!)).state, 'succeeded');

    const long = await submit(scheduler, { command: 'bash', path: 'long.sh' });
    const waiter = await submit(scheduler, { command: 'bash', path: 'ok.sh', after: [long.id] });
    assert.equal(waiter.state, 'waiting');
    assert.equal((await fetch(`${scheduler.api}/v1/jobs/${String(long.id)}/stop`, { method: 'POST' })).status, 200);
    const left = await waitForFinal(scheduler.api, String(waiter.id));
    assert.equal(left.state, 'skipped');
    assert.match(String(left.reason), /ended stopped/);
  });

  it('a bad reference is a 400 naming it: unknown id, out of range, cycle', async () => {
    const scheduler = await startScheduler();
    const one = await fetch(`${scheduler.api}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ command: 'true', after: ['no-such-job'] }),
    });
    assert.equal(one.status, 400);
    assert.deepEqual(await one.json(), { error: 'after[0]: job "no-such-job" not found', code: 'bad_request' });
    const cases: [unknown[], string][] = [
      [[{ command: 'true' }, { command: 'true', after: ['#0', '#2'] }], 'jobs[1].after[1]: "#2" names no job of this batch (it has 2: #0 to #1)'],
      [
        [
          { command: 'true', after: ['#1'] },
          { command: 'true', after: ['#0'] },
        ],
        "jobs[0].after: the batch's jobs wait for each other in a cycle (#0 → #1 → #0)",
      ],
    ];
    for (const [jobs, error] of cases) {
      const res = await batch(scheduler, jobs);
      assert.equal(res.status, 400);
      assert.equal(res.json.error, error);
    }
    assert.deepEqual((await getJson(`${scheduler.api}/v1/jobs`)).json.jobs, [], 'nothing of a refused batch is stored');
  });
});

describe('baton run --after --concurrency, ps and status', () => {
  it('a job run after a failed one is skipped, and ps and status say why', async () => {
    const scheduler = await startScheduler();
    await startWorker(scheduler, { jobsDir: jobsDir(scripts) });
    const first = await baton(['run', '--detach', '--', 'bash', 'fail.sh'], { api: scheduler.api });
    assert.equal(first.code, 0, first.stderr);
    const failedId = first.stdout.trim();
    const run = await baton(['run', '--after', failedId, '--concurrency', 'deploy=2', '--', 'bash', 'ok.sh'], { api: scheduler.api });
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, new RegExp(`skipped: job ${failedId} ended failed, and this job runs only after it succeeds`));
    const ps = await baton(['ps', '--state', 'skipped'], { api: scheduler.api });
    assert.match(ps.stdout, /skipped \(job \S+ ended failed/);
    const id = /baton: job (\S+) skipped/.exec(run.stderr)![1]!;
    const status = await baton(['status', id], { api: scheduler.api });
    assert.match(status.stdout, new RegExp(`After: +${failedId} \\(succeeded\\)`));
    assert.match(status.stdout, /Concurrency: +key deploy, limit 2, on limit queue/);
  });
});
