// Concurrency keys against real processes: each job writes its own start and end marks, and
// the limit is checked from those marks, not from what the scheduler says.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startScheduler, startWorker, jobsDir, tempDir, getJson, eventually, waitForFinal, type SchedulerHandle } from './harness.js';

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
  'ok.sh': '#!/bin/bash\necho ok\n',
  'long.sh': '#!/bin/bash\nsleep 600\n',
};

/** The most jobs that were between their start and end marks at once (an end at the same instant as a start counts first). */
function mostAtOnce(marks: string): number {
  const events = marks
    .trim()
    .split('\n')
    .map((line) => {
      const [kind, ns] = line.split(' ');
      return { at: BigInt(ns!), delta: kind === 'start' ? 1 : -1 };
    })
    .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.delta - b.delta));
  let now = 0;
  let most = 0;
  for (const e of events) most = Math.max(most, (now += e.delta));
  return most;
}

describe('concurrency keys', () => {
  it('20 jobs of one key with limit 2 over two workers never run more than 2 at once', async () => {
    const jobs = jobsDir(scripts);
    // Jobs run as another user: the shared marks file is writable by all.
    const shared = tempDir();
    chmodSync(shared, 0o755);
    const marks = path.join(shared, 'marks');
    writeFileSync(marks, '');
    chmodSync(marks, 0o666);
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
