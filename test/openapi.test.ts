// /openapi.json is a valid OpenAPI 3.1 document made from the same schemas the routes use, and
// every route in it says what it answers.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import SwaggerParser from '@apidevtools/swagger-parser';
import { JOB_STATES } from '../src/scheduler/job-state.js';
import { startScheduler, type SchedulerHandle } from './harness.js';

interface Operation {
  operationId?: string;
  tags?: string[];
  responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}

/** The status each route answers on success. */
const SUCCESS: Record<string, string[]> = {
  'GET /healthz': ['200'],
  'GET /readyz': ['200'],
  'POST /start': ['201'],
  'POST /stop': ['200'],
  'POST /query': ['200'],
  'POST /stream': ['200'],
  'GET /v1/workers': ['200'],
  'GET /v1/workers/{id}': ['200'],
  'POST /v1/workers/{id}/drain': ['200'],
  'DELETE /v1/workers/{id}/drain': ['200'],
  'DELETE /v1/workers/{id}': ['200'],
  'POST /v1/jobs': ['200', '201'],
  'POST /v1/jobs/batch': ['201'],
  'GET /v1/jobs': ['200'],
  'GET /v1/jobs/{id}': ['200'],
  'POST /v1/jobs/{id}/stop': ['200'],
  'GET /v1/jobs/{id}/output': ['200', '206'],
  'GET /v1/jobs/{id}/output/search': ['200'],
  'GET /v1/jobs/{id}/wait': ['200', '202'],
  'GET /v1/events': ['200'],
  'GET /v1/tokens': ['200'],
  'POST /v1/tokens': ['201'],
  'DELETE /v1/tokens/{name}': ['200'],
  'GET /v1/whoami': ['200'],
  'POST /v1/schedules': ['201'],
  'GET /v1/schedules': ['200'],
  'GET /v1/schedules/{name}': ['200'],
  'PATCH /v1/schedules/{name}': ['200'],
  'DELETE /v1/schedules/{name}': ['200'],
  'POST /v1/schedules/{name}/trigger': ['201'],
};

describe('/openapi.json', () => {
  let scheduler: SchedulerHandle;
  let doc: { openapi: string; paths: Record<string, Record<string, Operation>> };

  before(async () => {
    scheduler = await startScheduler();
    const res = await fetch(`${scheduler.api}/openapi.json`);
    assert.equal(res.status, 200);
    doc = (await res.json()) as typeof doc;
  });
  after(() => scheduler.kill());

  it('is valid OpenAPI 3.1 (swagger-parser)', async () => {
    assert.match(doc.openapi, /^3\.1\./);
    await SwaggerParser.validate(structuredClone(doc) as never);
  });

  const operations = (): [string, Operation][] =>
    Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]): [string, Operation] => [`${method.toUpperCase()} ${path}`, op]));

  it('lists every route, and only those', () => {
    assert.deepEqual(
      operations()
        .map(([name]) => name)
        .sort(),
      Object.keys(SUCCESS).sort(),
    );
  });

  it('gives every route an operationId, tags, a schema for each success status and the error body for each error status', () => {
    const ids = new Set<string>();
    for (const [name, op] of operations()) {
      assert.ok(op.operationId, `${name}: operationId`);
      assert.ok(!ids.has(op.operationId), `${name}: operationId ${op.operationId} is used twice`);
      ids.add(op.operationId);
      assert.ok(op.tags && op.tags.length > 0, `${name}: tags`);
      const responses = op.responses ?? {};
      const success = Object.keys(responses).filter((s) => s.startsWith('2'));
      assert.deepEqual(success.sort(), SUCCESS[name], `${name}: success statuses`);
      for (const status of success) {
        const content = Object.values(responses[status]?.content ?? {});
        assert.ok(content.length > 0 && content.every((c) => c.schema !== undefined), `${name}: a schema for ${status}`);
      }
      for (const [status, response] of Object.entries(responses).filter(([s]) => !s.startsWith('2'))) {
        const schema = response.content?.['application/json']?.schema as { properties?: Record<string, unknown> } | undefined;
        assert.deepEqual(Object.keys(schema?.properties ?? {}), ['error', 'code'], `${name}: the error body for ${status}`);
      }
    }
  });

  it("declares the output answer's headers: the attempt, the offset, Accept-Ranges, and Content-Range on a 206", () => {
    const responses = doc.paths['/v1/jobs/{id}/output']?.get?.responses as Record<string, { headers?: Record<string, { schema?: unknown }> }>;
    assert.deepEqual(Object.keys(responses['200']?.headers ?? {}).sort(), ['accept-ranges', 'baton-attempt', 'baton-offset']);
    assert.deepEqual(Object.keys(responses['206']?.headers ?? {}).sort(), ['accept-ranges', 'baton-attempt', 'baton-offset', 'content-range']);
    assert.ok(responses['416'], 'an unsatisfiable range');
  });

  it('types what the API sends as null as nullable, and job states from the scheduler', () => {
    const job = doc.paths['/v1/jobs']?.post?.responses?.['201']?.content?.['application/json']?.schema as { properties: Record<string, { type?: unknown; enum?: unknown }> };
    for (const field of ['worker_id', 'reason', 'finished_at', 'exit_code', 'signal', 'error', 'timeout', 'parent_id', 'submitted_by', 'stopped_by']) {
      const type = job.properties[field]?.type;
      assert.ok(Array.isArray(type) && type.includes('null'), `${field} is nullable`);
    }
    assert.deepEqual(job.properties.state?.enum, [...JOB_STATES]);
  });
});
