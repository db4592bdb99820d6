import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type AuditFacts, type AuthFailure, auditRecord, isAudited } from './audit.js';

const picked: [method: string, route: string | undefined, status: number, failure: AuthFailure | null, audited: boolean][] = [
  ['GET', '/v1/jobs', 200, null, false],
  ['GET', '/v1/jobs', 401, 'no_token', true],
  ['GET', '/v1/jobs', 401, 'bad_token', true],
  ['GET', '/v1/jobs', 429, 'throttled', true],
  ['GET', undefined, 401, 'bad_token', true],
  ['GET', '/v1/tokens', 403, null, true],
  ['GET', '/v1/jobs/:id', 404, null, false],
  ['POST', '/start', 201, null, true],
  ['POST', '/stop', 409, null, true],
  ['POST', '/query', 200, null, false],
  ['POST', '/stream', 200, null, false],
  ['POST', '/query', 401, 'bad_token', true],
  ['POST', '/v1/jobs', 201, null, true],
  ['POST', '/v1/jobs', 400, null, true],
  ['POST', '/v1/jobs', 429, null, true],
  ['POST', '/v1/tokens', 201, null, true],
  ['DELETE', '/v1/tokens/:name', 200, null, true],
  ['DELETE', '/v1/workers/:id/drain', 200, null, true],
  ['PUT', undefined, 404, null, true],
  ['PATCH', undefined, 404, null, true],
  ['HEAD', '/v1/jobs', 200, null, false],
];
for (const [method, route, status, authFailure, audited] of picked) {
  test(`audit: ${method} ${route ?? '(no route)'} ${status}${authFailure ? ` ${authFailure}` : ''} → ${audited ? 'a line' : 'no line'}`, () => {
    assert.equal(isAudited({ method, route, status, authFailure }), audited);
  });
}

const base: AuditFacts = {
  method: 'POST',
  route: '/v1/jobs',
  path: '/v1/jobs',
  status: 201,
  principal: { name: 'ci', role: 'operator' },
  authFailure: null,
  client: '10.0.0.7',
  proxy: undefined,
  params: {},
  body: undefined,
  reply: undefined,
};

const records: [name: string, facts: Partial<AuditFacts>, expected: Record<string, unknown>][] = [
  [
    'POST /v1/jobs: the new job and the worker asked for',
    { body: { command: 'echo', args: ['secret-ish'], worker_id: 'w-1', env: { PASSWORD: 'x' } }, reply: { id: 'j-1', worker_id: null, command: 'echo' } },
    { actor: 'ci', role: 'operator', client: '10.0.0.7', method: 'POST', route: '/v1/jobs', status: 201, job_id: 'j-1', worker_id: 'w-1' },
  ],
  [
    'POST /start: the original call, its job id from the answer',
    { route: '/start', path: '/start', body: { worker_id: 'w-2', command: 'bash', path: 'x.sh' }, reply: { job_id: 'j-2' } },
    { actor: 'ci', role: 'operator', client: '10.0.0.7', method: 'POST', route: '/start', status: 201, job_id: 'j-2', worker_id: 'w-2' },
  ],
  [
    'POST /stop: both ids from the body',
    { route: '/stop', path: '/stop', status: 200, body: { worker_id: 'w-2', job_id: 'j-2' }, reply: { success: true } },
    { actor: 'ci', role: 'operator', client: '10.0.0.7', method: 'POST', route: '/stop', status: 200, job_id: 'j-2', worker_id: 'w-2' },
  ],
  [
    'POST /v1/jobs/batch: every new job',
    { route: '/v1/jobs/batch', path: '/v1/jobs/batch', reply: { jobs: [{ id: 'a' }, { id: 'b' }, { nope: 1 }] } },
    { actor: 'ci', role: 'operator', client: '10.0.0.7', method: 'POST', route: '/v1/jobs/batch', status: 201, job_ids: ['a', 'b'] },
  ],
  [
    'POST /v1/jobs/:id/stop: the job from the path',
    { route: '/v1/jobs/:id/stop', path: '/v1/jobs/j-3/stop', status: 200, params: { id: 'j-3' }, reply: { id: 'j-3', worker_id: 'w-1' } },
    { actor: 'ci', role: 'operator', client: '10.0.0.7', method: 'POST', route: '/v1/jobs/:id/stop', status: 200, job_id: 'j-3', worker_id: 'w-1' },
  ],
  [
    'POST /v1/workers/:id/drain: the worker from the path',
    { route: '/v1/workers/:id/drain', path: '/v1/workers/w-9/drain', status: 200, params: { id: 'w-9' }, principal: { name: 'root', role: 'admin' } },
    { actor: 'root', role: 'admin', client: '10.0.0.7', method: 'POST', route: '/v1/workers/:id/drain', status: 200, worker_id: 'w-9' },
  ],
  [
    'POST /v1/tokens: the name, never the secret in the answer',
    {
      route: '/v1/tokens',
      path: '/v1/tokens',
      body: { name: 'deploy', role: 'operator' },
      reply: { name: 'deploy', role: 'operator', token: 'baton_SECRET' },
      principal: { name: 'root', role: 'admin' },
    },
    { actor: 'root', role: 'admin', client: '10.0.0.7', method: 'POST', route: '/v1/tokens', status: 201, token: 'deploy' },
  ],
  [
    'DELETE /v1/tokens/:name: the name from the path',
    { method: 'DELETE', route: '/v1/tokens/:name', path: '/v1/tokens/deploy', status: 200, params: { name: 'deploy' }, principal: { name: 'root', role: 'admin' } },
    { actor: 'root', role: 'admin', client: '10.0.0.7', method: 'DELETE', route: '/v1/tokens/:name', status: 200, token: 'deploy' },
  ],
  [
    'a bad token: anonymous, no role, why, and the proxy it came through',
    { method: 'GET', route: '/v1/jobs/:id', path: '/v1/jobs/j-4', status: 401, principal: null, authFailure: 'bad_token', params: { id: 'j-4' }, proxy: '127.0.0.1' },
    { actor: 'anonymous', role: null, client: '10.0.0.7', proxy: '127.0.0.1', method: 'GET', route: '/v1/jobs/:id', status: 401, auth_failure: 'bad_token', job_id: 'j-4' },
  ],
  [
    'no route matched: the path stands in, cut short',
    { method: 'GET', route: undefined, path: `/${'x'.repeat(1000)}`, status: 429, principal: null, authFailure: 'throttled' },
    { actor: 'anonymous', role: null, client: '10.0.0.7', method: 'GET', route: `/${'x'.repeat(255)}`, status: 429, auth_failure: 'throttled' },
  ],
  [
    'ids that are not strings are left out, long ones cut short',
    { body: { worker_id: 42, job_id: ['x'] }, reply: { id: 'j'.repeat(500) } },
    { actor: 'ci', role: 'operator', client: '10.0.0.7', method: 'POST', route: '/v1/jobs', status: 201, job_id: 'j'.repeat(128) },
  ],
];
for (const [name, facts, expected] of records) {
  test(`audit line: ${name}`, () => {
    const record = auditRecord({ ...base, ...facts });
    assert.deepEqual(record, expected);
    assert.ok(!JSON.stringify(record).includes('SECRET'));
  });
}
