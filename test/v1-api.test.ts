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

  // The response serializer writes only the keys its schema names, in the schema's order: these
  // pin the answers, key for key and byte for byte, to what they were before the schemas.
  describe('answers are byte for byte what they were', () => {
    const JOB_KEYS =
      'id state worker_id reason labels priority pinned attempt next_attempt_at retry command path args env cwd created_at updated_at finished_at exit_code signal error error_code output_truncated timeout parent_id children submitted_by stopped_by schedule scheduled_for concurrency after after_condition name stdin_bytes';
    const ATTEMPT_KEYS = 'number worker_id state exit_code signal error created_at started_at finished_at';
    const text = async (res: Response): Promise<string> => {
      assert.ok(res.ok, `${res.status}`);
      return res.text();
    };
    const post = (route: string, body: unknown) =>
      fetch(`${scheduler.api}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

    it('/start, /query, GET /v1/jobs/:id and GET /v1/jobs', async () => {
      const start = await text(await post('/start', { worker_id: a.id, command: 'bash', path: 'sub/where.sh' }));
      assert.match(start, /^\{"job_id":"[0-9a-f-]{36}"\}$/);
      const id = (JSON.parse(start) as { job_id: string }).job_id;
      await waitForFinal(scheduler.api, id);

      const query = await text(await post('/query', { worker_id: a.id, job_id: id }));
      assert.equal(query, '{"done":true,"error":false,"error_text":"","state":"succeeded","exit_code":0,"signal":null}');

      const detail = await text(await fetch(`${scheduler.api}/v1/jobs/${id}`));
      const job = JSON.parse(detail) as Record<string, unknown> & { attempts: Record<string, unknown>[]; retry: Record<string, unknown> };
      assert.equal(Object.keys(job).join(' '), `${JOB_KEYS} attempts`);
      assert.equal(Object.keys(job.retry).join(' '), 'max_attempts backoff on');
      assert.equal(Object.keys(job.attempts[0]!).join(' '), ATTEMPT_KEYS);
      // Nothing but the order and the values: no spacing, no number or string written another way.
      assert.equal(detail, JSON.stringify(job));
      assert.equal(detail.slice(0, 120), `{"id":"${id}","state":"succeeded","worker_id":"${a.id}","reason":null,"labels":{},"priority":0,"pinned":true,"attempt":1,`.slice(0, 120));

      const list = await text(await fetch(`${scheduler.api}/v1/jobs?limit=1`));
      const page = JSON.parse(list) as { jobs: Record<string, unknown>[] };
      assert.equal(Object.keys(page).join(' '), 'jobs next_cursor');
      assert.equal(Object.keys(page.jobs[0]!).join(' '), JOB_KEYS);
      assert.equal(list, JSON.stringify(page));
    });

    it('a queued job with labels, retry and timeout, and /stop', async () => {
      const res = await post('/v1/jobs', {
        command: 'true',
        args: ['x y', 'é"\\'],
        env: { K: 'v' },
        labels: { nowhere: 'x' },
        priority: -3,
        timeout: 2.5,
        retry: { max_attempts: 2, backoff: { base: 0.5 } },
      });
      assert.equal(res.status, 201);
      const body = await res.text();
      const job = JSON.parse(body) as Record<string, unknown>;
      assert.equal(Object.keys(job).join(' '), JOB_KEYS);
      assert.equal(body, JSON.stringify(job));
      assert.match(
        body,
        /"labels":\{"nowhere":"x"\},"priority":-3,"pinned":false,"attempt":1,"next_attempt_at":null,"retry":\{"max_attempts":2,"backoff":\{"base":0\.5,"cap":60\},"on":\["lost"\]\},"command":"true","path":"","args":\["x y","é\\"\\\\"\],"env":\{"K":"v"\},"cwd":""/,
      );
      assert.match(
        body,
        /"timeout":2\.5,"parent_id":null,"children":\[\],"submitted_by":"anonymous","stopped_by":null,"schedule":null,"scheduled_for":null,"concurrency":null,"after":\[\],"after_condition":"succeeded","name":null,"stdin_bytes":0\}$/,
      );

      const sleeper = JSON.parse(await text(await post('/v1/jobs', { worker_id: a.id, command: 'sleep', args: ['30'] }))) as { id: string };
      assert.equal(await text(await post('/stop', { worker_id: a.id, job_id: sleeper.id })), '{"success":true}');
    });
  });
});
