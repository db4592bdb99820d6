// /metrics, /readyz, /openapi.json and /docs against a real scheduler and worker.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ROUTE_ROLES } from '../src/scheduler/auth/roles.js';
import { startScheduler, startWorker, jobsDir, getJson, waitForFinal, eventually, type SchedulerHandle, type WorkerHandle } from './harness.js';

/** `name{labels} value` lines → value of the first line whose name and labels match. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('metrics, readiness and API docs', () => {
  let scheduler: SchedulerHandle;
  let worker: WorkerHandle;
  let gone: WorkerHandle;

  before(async () => {
    scheduler = await startScheduler();
    // With its own metrics on a port of its own; a second worker to be killed (a job sent to it answers 503).
    worker = await startWorker(scheduler, {
      jobsDir: jobsDir({ 'ok.sh': '#!/bin/bash\necho ok\n', 'bad.sh': '#!/bin/bash\nexit 4\n' }),
      args: ['--capacity', '3', '--metrics', '127.0.0.1:0'],
    });
    gone = await startWorker(scheduler, { args: ['--label', 'zone=gone'] });
  });
  after(() => Promise.all([worker.kill(), gone.kill(), scheduler.kill()]));

  it('/metrics counts jobs, workers, HTTP and gRPC calls as they happen', async () => {
    // Two that succeed; one that fails twice (a retry), each attempt timed on its own.
    const bodies = [{ path: 'ok.sh' }, { path: 'ok.sh' }, { path: 'bad.sh', retry: { max_attempts: 2, backoff: { base: 0.1, cap: 0.1 }, on: ['failed'] } }];
    for (const body of bodies) {
      const res = await fetch(`${scheduler.api}/v1/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ command: 'bash', worker_id: worker.id, ...body }),
      });
      assert.equal(res.status, 201);
      await waitForFinal(scheduler.api, String(((await res.json()) as { id: string }).id));
    }
    await fetch(`${scheduler.api}/v1/jobs/no-such-job`);
    await gone.kill('SIGKILL');
    await eventually(async () => ((await getJson(`${scheduler.api}/v1/workers/${gone.id}`)).json.state === 'down' ? true : undefined), 'the killed worker to be down');
    const refused = await fetch(`${scheduler.api}/v1/jobs`, { method: 'POST', body: JSON.stringify({ command: 'true', worker_id: gone.id }) });
    assert.equal(refused.status, 503);
    const res = await fetch(`${scheduler.api}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await res.text();
    assert.equal(sample(text, 'baton_jobs_submitted_total'), 3);
    assert.equal(sample(text, 'baton_jobs_finished_total', { state: 'succeeded' }), 2);
    assert.equal(sample(text, 'baton_jobs_finished_total', { state: 'failed' }), 1);
    assert.equal(sample(text, 'baton_jobs', { state: 'succeeded' }), 2);
    assert.equal(sample(text, 'baton_jobs', { state: 'queued' }), 0);
    assert.equal(sample(text, 'baton_queue_depth'), 0);
    assert.equal(sample(text, 'baton_dispatch_latency_seconds_count'), 3);
    // Per attempt: four attempts waited and ran (the failing job's two both ended failed).
    assert.equal(sample(text, 'baton_job_queue_wait_seconds_count'), 4);
    assert.equal(sample(text, 'baton_job_run_seconds_count', { outcome: 'succeeded' }), 2);
    assert.equal(sample(text, 'baton_job_run_seconds_count', { outcome: 'failed' }), 2);
    assert.ok((sample(text, 'baton_job_run_seconds_sum', { outcome: 'failed' }) ?? -1) >= 0);
    assert.equal(sample(text, 'baton_workers', { state: 'up', draining: 'false' }), 1);
    assert.equal(sample(text, 'baton_workers', { state: 'down', draining: 'false' }), 1);
    assert.ok((sample(text, 'baton_worker_heartbeat_lag_seconds', { worker_id: worker.id }) ?? -1) >= 0);
    assert.equal(sample(text, 'baton_worker_jobs_running', { worker_id: worker.id }), 0);
    assert.equal(sample(text, 'baton_worker_capacity', { worker_id: worker.id }), 3);
    assert.equal(sample(text, 'baton_worker_capacity', { worker_id: gone.id }), undefined, 'only live workers');
    assert.equal(sample(text, 'baton_http_request_duration_seconds_count', { method: 'POST', route: '/v1/jobs', status: '201' }), 3);
    // Only 5xx answers are errors: the 404 is in the histogram, not in the error count.
    assert.equal(sample(text, 'baton_http_request_duration_seconds_count', { method: 'GET', route: '/v1/jobs/:id', status: '404' }), 1);
    assert.equal(sample(text, 'baton_http_errors_total', { method: 'GET', route: '/v1/jobs/:id', status: '404' }), undefined);
    assert.equal(sample(text, 'baton_http_errors_total', { method: 'POST', route: '/v1/jobs', status: '503' }), 1);
    // The process and the build.
    assert.ok((sample(text, 'process_cpu_user_seconds_total') ?? 0) > 0);
    assert.ok((sample(text, 'process_resident_memory_bytes') ?? 0) > 0);
    assert.notEqual(sample(text, 'nodejs_eventloop_lag_seconds'), undefined);
    assert.equal(sample(text, 'baton_build_info', { component: 'scheduler', version: '0.1.0', node_version: process.version }), 1);
    assert.ok((sample(text, 'baton_grpc_request_duration_seconds_count', { direction: 'served', method: 'RegisterWorker', code: 'OK' }) ?? 0) >= 1);
    assert.equal(sample(text, 'baton_grpc_request_duration_seconds_count', { direction: 'made', method: 'Starts', code: 'OK' }), 4, 'a start per attempt');
  });

  it("the worker's own /metrics: its jobs, run times, link to the scheduler and process, labelled worker_id", async () => {
    const ready = await worker.waitForLog((l) => l.msg === 'worker ready');
    const address = String(ready.metrics);
    assert.match(address, /^127\.0\.0\.1:\d+$/);
    const res = await fetch(`http://${address}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await res.text();
    const id = { worker_id: worker.id };
    assert.equal(sample(text, 'baton_worker_jobs_started_total', id), 4);
    assert.equal(sample(text, 'baton_worker_jobs_ended_total', { ...id, state: 'succeeded' }), 2);
    assert.equal(sample(text, 'baton_worker_jobs_ended_total', { ...id, state: 'failed' }), 2);
    assert.equal(sample(text, 'baton_worker_job_run_seconds_count', { ...id, state: 'failed' }), 2);
    assert.equal(sample(text, 'baton_worker_jobs_active', id), 0);
    assert.equal(sample(text, 'baton_worker_registered', id), 1);
    assert.equal(sample(text, 'baton_worker_heartbeat_failures_total', id), 0);
    assert.ok((sample(text, 'process_resident_memory_bytes', id) ?? 0) > 0);
    assert.equal(sample(text, 'baton_build_info', { ...id, component: 'worker', version: '0.1.0' }), 1);
    const other = await fetch(`http://${address}/v1/jobs`);
    assert.equal(other.status, 404);
    assert.equal(((await other.json()) as { code: string }).code, 'not_found');
  });

  it('/readyz answers ready while the store answers', async () => {
    const { status, json } = await getJson(`${scheduler.api}/readyz`);
    assert.equal(status, 200);
    assert.deepEqual(json, { status: 'ready' });
  });

  it('/openapi.json is generated from the route schemas: every API route is in it', async () => {
    const { status, json } = await getJson(`${scheduler.api}/openapi.json`);
    assert.equal(status, 200);
    assert.equal(json.openapi, '3.1.0');
    const paths = json.paths as Record<string, Record<string, unknown>>;
    // Not API calls: the metrics text, the document itself and the dashboard's page and files.
    const hidden = new Set(['GET /metrics', 'GET /openapi.json', 'GET /', 'GET /assets/*']);
    for (const route of Object.keys(ROUTE_ROLES)) {
      if (hidden.has(route)) continue;
      const [method, url] = route.split(' ') as [string, string];
      const openapiPath = url.replace(/:(\w+)/g, '{$1}');
      assert.ok(paths[openapiPath]?.[method.toLowerCase()], `${route} is in the OpenAPI document`);
    }
    // Body schemas come through: POST /v1/jobs documents its command field.
    const post = paths['/v1/jobs']!.post as { requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> } };
    assert.ok(post.requestBody?.content?.['application/json']?.schema?.properties?.command);
  });

  it('/docs renders the document as a page, open without a token', async () => {
    const res = await fetch(`${scheduler.api}/docs/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await res.text(), /swagger/i);
  });
});
