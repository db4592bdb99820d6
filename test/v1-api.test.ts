// The /v1 API: the general job form, listing with filters and pagination, output, stop.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { startScheduler, startWorker, jobsDir, getJson, waitForFinal, type SchedulerHandle, type WorkerHandle } from './harness.js';

async function postJson(url: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('/v1 jobs', () => {
  let scheduler: SchedulerHandle;
  let a: WorkerHandle;
  let b: WorkerHandle;

  before(async () => {
    const jobs = jobsDir({ 'sub/where.sh': '#!/bin/bash\npwd\necho "$GREETING $1"\n' });
    scheduler = await startScheduler();
    [a, b] = await Promise.all([startWorker(scheduler, { jobsDir: jobs }), startWorker(scheduler, { jobsDir: jobs })]);
  });

  it('runs the general form {command, args, env, cwd} and answers 201 with the job', async () => {
    const res = await postJson(`${scheduler.api}/v1/jobs`, { worker_id: a.id, command: 'bash', args: ['where.sh', 'world'], env: { GREETING: 'hello' }, cwd: 'sub' });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    assert.equal(res.json.worker_id, a.id);
    assert.equal(typeof res.json.id, 'string');
    const job = await waitForFinal(scheduler.api, String(res.json.id));
    assert.equal(job.state, 'succeeded');
    const output = await fetch(`${scheduler.api}/v1/jobs/${String(res.json.id)}/output`).then((r) => r.text());
    const [cwd, greeting] = output.trim().split('\n');
    assert.match(cwd!, /\/sub$/);
    assert.equal(greeting, 'hello world');
  });

  it('refuses a job without a command, naming the field', async () => {
    const res = await postJson(`${scheduler.api}/v1/jobs`, { worker_id: a.id, args: ['x'] });
    assert.equal(res.status, 400);
    assert.match(String(res.json.error), /command/);
  });

  it('lists newest first, filters by worker and state, and pages with a cursor', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await postJson(`${scheduler.api}/v1/jobs`, { worker_id: i % 2 ? b.id : a.id, command: 'true' });
      assert.equal(res.status, 201);
      ids.push(String(res.json.id));
    }
    await Promise.all(ids.map((id) => waitForFinal(scheduler.api, id)));

    const all = await getJson(`${scheduler.api}/v1/jobs?limit=500`);
    const listed = (all.json.jobs as { id: string }[]).map((j) => j.id);
    assert.deepEqual(listed.slice(0, 5), [...ids].reverse(), 'newest first');

    const onB = await getJson(`${scheduler.api}/v1/jobs?worker_id=${b.id}`);
    assert.deepEqual(
      (onB.json.jobs as { id: string }[]).map((j) => j.id),
      [ids[3], ids[1]],
    );

    const succeeded = await getJson(`${scheduler.api}/v1/jobs?state=succeeded&limit=500`);
    assert.ok((succeeded.json.jobs as { state: string }[]).every((j) => j.state === 'succeeded'));

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await getJson(`${scheduler.api}/v1/jobs?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      const jobs = page.json.jobs as { id: string }[];
      assert.ok(jobs.length <= 2);
      seen.push(...jobs.map((j) => j.id));
      cursor = page.json.next_cursor as string | null;
    } while (cursor);
    assert.deepEqual(seen, listed, 'pages add up to the whole list, in order');
  });

  it('refuses bad list parameters', async () => {
    for (const query of ['state=nope', 'limit=0', 'limit=100000']) {
      const res = await getJson(`${scheduler.api}/v1/jobs?${query}`);
      assert.equal(res.status, 400, query);
      assert.equal(typeof res.json.error, 'string');
    }
  });
});
