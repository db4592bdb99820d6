// /metrics, /readyz, /openapi.json and /docs against a real scheduler and worker.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ROUTE_ROLES } from '../src/scheduler/auth/roles.js';
import { startScheduler, startWorker, jobsDir, getJson, waitForFinal, type SchedulerHandle, type WorkerHandle } from './harness.js';

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

  before(async () => {
    scheduler = await startScheduler();
    worker = await startWorker(scheduler, { jobsDir: jobsDir({ 'ok.sh': '#!/bin/bash\necho ok\n', 'bad.sh': '#!/bin/bash\nexit 4\n' }) });
  });
  after(() => Promise.all([worker.kill(), scheduler.kill()]));

  it('/metrics counts jobs, workers, HTTP and gRPC calls as they happen', async () => {
    for (const path of ['ok.sh', 'ok.sh', 'bad.sh']) {
      const res = await fetch(`${scheduler.api}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ command: 'bash', path }) });
      assert.equal(res.status, 201);
      await waitForFinal(scheduler.api, String(((await res.json()) as { id: string }).id));
    }
    await fetch(`${scheduler.api}/v1/jobs/no-such-job`);
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
    assert.equal(sample(text, 'baton_workers', { state: 'up', draining: 'false' }), 1);
    assert.ok((sample(text, 'baton_worker_heartbeat_lag_seconds', { worker_id: worker.id }) ?? -1) >= 0);
    assert.equal(sample(text, 'baton_http_request_duration_seconds_count', { method: 'POST', route: '/v1/jobs', status: '201' }), 3);
    assert.equal(sample(text, 'baton_http_errors_total', { method: 'GET', route: '/v1/jobs/:id', status: '404' }), 1);
    assert.ok((sample(text, 'baton_grpc_request_duration_seconds_count', { direction: 'served', method: 'RegisterWorker', code: 'OK' }) ?? 0) >= 1);
    assert.equal(sample(text, 'baton_grpc_request_duration_seconds_count', { direction: 'made', method: 'Starts', code: 'OK' }), 3);
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
