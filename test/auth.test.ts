// API tokens and roles over real HTTP: every route × role answers as ROUTE_ROLES says, with
// tokens made by `baton token create` run as a real process.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { request as httpsRequest } from 'node:https';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { initCaFiles, issueCertFiles } from '../src/common/certs.js';
import { ROUTE_ROLES, allows, type Requirement, type Role } from '../src/scheduler/auth/roles.js';
import { startScheduler, startWorker, jobsDir, tempDir, eventually, type SchedulerHandle, type WorkerHandle } from './harness.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const MISSING = 'missing or invalid API token: send Authorization: Bearer <token>';

/** `baton …` as a real process; resolves with its stdout. */
async function baton(args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [MAIN, ...args], { env: { ...process.env, BATON_LOG_LEVEL: 'warn' } });
  return stdout;
}

async function createToken(dataDir: string, role: Role, name: string): Promise<string> {
  const out = (await baton(['token', 'create', '--role', role, '--name', name, '--data-dir', dataDir])).trim();
  assert.match(out, /^baton_[A-Za-z0-9_-]{43}$/, 'the token alone on stdout');
  return out;
}

interface Answer {
  status: number;
  json: Record<string, unknown>;
  headers: Headers;
}

async function call(api: string, method: string, url: string, token?: string, body?: unknown, extraHeaders: Record<string, string> = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...extraHeaders };
  if (token !== undefined) headers.authorization = token.startsWith('Basic ') ? token : `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${api}${url}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  // An event stream never ends: its status and headers are the answer.
  if (res.headers.get('content-type')?.startsWith('text/event-stream')) {
    await res.body?.cancel();
    return { status: res.status, json: {}, headers: res.headers };
  }
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // output routes answer text
  }
  return { status: res.status, json, headers: res.headers };
}

/** An audit line without the fields every pino line has. */
function pick(line: Record<string, unknown>): Record<string, unknown> {
  const { level: _level, time: _time, pid: _pid, hostname: _hostname, component: _component, msg: _msg, ...rest } = line;
  return rest;
}

const JOBS = { 'ok.sh': '#!/bin/bash\necho ok\n', 'long.sh': '#!/bin/bash\nsleep 60\n' };

async function waitFinal(api: string, token: string, jobId: string): Promise<Record<string, unknown>> {
  return eventually(async () => {
    const { json } = await call(api, 'GET', `/v1/jobs/${jobId}`, token);
    return ['succeeded', 'failed', 'stopped'].includes(String(json.state)) ? json : undefined;
  }, `job ${jobId} to finish`);
}

describe('API tokens and roles', () => {
  let scheduler: SchedulerHandle;
  let worker: WorkerHandle;
  const tokens = {} as Record<Role, string>;
  const names: Record<Role, string> = { viewer: 'view', operator: 'ci', admin: 'root' };
  let doneJob: string;

  before(async () => {
    const dataDir = tempDir('baton-auth-');
    // Tokens first, straight into the store, before any scheduler runs.
    for (const role of ['viewer', 'operator', 'admin'] as const) tokens[role] = await createToken(dataDir, role, names[role]);
    // The bad-token column of the matrix would otherwise trip the slowdown.
    scheduler = await startScheduler({ dataDir, args: ['--auth', '--auth-max-failures', '1000'] });
    worker = await startWorker(scheduler, { jobsDir: jobsDir(JOBS) });
    const start = await call(scheduler.api, 'POST', '/v1/jobs', tokens.operator, { worker_id: worker.id, command: 'bash', path: 'ok.sh' });
    assert.equal(start.status, 201);
    doneJob = String(start.json.id);
    await waitFinal(scheduler.api, tokens.viewer, doneJob);
  });

  // One request per row of the role table, and the status it gets when the role allows it.
  let made = 0;
  const requests: Record<string, () => { url: string; body?: unknown; ok: number }> = {
    'GET /healthz': () => ({ url: '/healthz', ok: 200 }),
    'GET /v1/workers': () => ({ url: '/v1/workers', ok: 200 }),
    'GET /v1/workers/:id': () => ({ url: `/v1/workers/${worker.id}`, ok: 200 }),
    'GET /v1/jobs': () => ({ url: '/v1/jobs', ok: 200 }),
    'GET /v1/jobs/:id': () => ({ url: `/v1/jobs/${doneJob}`, ok: 200 }),
    'GET /v1/jobs/:id/output': () => ({ url: `/v1/jobs/${doneJob}/output`, ok: 200 }),
    'GET /v1/jobs/:id/output/search': () => ({ url: `/v1/jobs/${doneJob}/output/search?q=ok`, ok: 200 }),
    'GET /v1/jobs/:id/wait': () => ({ url: `/v1/jobs/${doneJob}/wait?timeout=1`, ok: 200 }),
    'GET /v1/events': () => ({ url: '/v1/events', ok: 200 }),
    'POST /start': () => ({ url: '/start', body: { worker_id: worker.id, command: 'bash', path: 'ok.sh' }, ok: 201 }),
    'POST /stop': () => ({ url: '/stop', body: { worker_id: worker.id, job_id: doneJob }, ok: 409 }),
    'POST /query': () => ({ url: '/query', body: { worker_id: worker.id, job_id: doneJob }, ok: 200 }),
    'POST /stream': () => ({ url: '/stream', body: { worker_id: worker.id, job_id: doneJob }, ok: 200 }),
    'POST /v1/jobs': () => ({ url: '/v1/jobs', body: { worker_id: worker.id, command: 'bash', path: 'ok.sh' }, ok: 201 }),
    'POST /v1/jobs/batch': () => ({ url: '/v1/jobs/batch', body: { jobs: [{ worker_id: worker.id, command: 'bash', path: 'ok.sh' }] }, ok: 201 }),
    'POST /v1/jobs/:id/stop': () => ({ url: `/v1/jobs/${doneJob}/stop`, ok: 409 }),
    // POST before DELETE in the table, so the worker ends up undrained.
    'POST /v1/workers/:id/drain': () => ({ url: `/v1/workers/${worker.id}/drain`, ok: 200 }),
    'DELETE /v1/workers/:id/drain': () => ({ url: `/v1/workers/${worker.id}/drain`, ok: 200 }),
    // The worker is up: an admin is let through to the refusal.
    'DELETE /v1/workers/:id': () => ({ url: `/v1/workers/${worker.id}`, ok: 409 }),
    'GET /v1/tokens': () => ({ url: '/v1/tokens', ok: 200 }),
    'GET /v1/whoami': () => ({ url: '/v1/whoami', ok: 200 }),
    'GET /readyz': () => ({ url: '/readyz', ok: 200 }),
    'GET /openapi.json': () => ({ url: '/openapi.json', ok: 200 }),
    'GET /metrics': () => ({ url: '/metrics', ok: 200 }),
    'GET /': () => ({ url: '/', ok: 200 }),
    'GET /assets/*': () => ({ url: '/assets/no-such-file.js', ok: 404 }),
    'POST /v1/tokens': () => ({ url: '/v1/tokens', body: { name: `made-${++made}`, role: 'viewer' }, ok: 201 }),
    'DELETE /v1/tokens/:name': () => ({ url: '/v1/tokens/no-such-token', ok: 404 }),
    'GET /v1/schedules': () => ({ url: '/v1/schedules', ok: 200 }),
    'GET /v1/schedules/:name': () => ({ url: '/v1/schedules/no-such-schedule', ok: 404 }),
    'POST /v1/schedules': () => ({ url: '/v1/schedules', body: { name: `made-${++made}`, cron: '@daily', job: { command: 'true' } }, ok: 201 }),
    'PATCH /v1/schedules/:name': () => ({ url: '/v1/schedules/no-such-schedule', body: { paused: true }, ok: 404 }),
    'DELETE /v1/schedules/:name': () => ({ url: '/v1/schedules/no-such-schedule', ok: 404 }),
    'POST /v1/schedules/:name/trigger': () => ({ url: '/v1/schedules/no-such-schedule/trigger', ok: 404 }),
  };

  it('the test covers every row of the role table', () => {
    assert.deepEqual(Object.keys(requests).sort(), Object.keys(ROUTE_ROLES).sort());
  });

  const callers: { who: string; role?: Role; token: () => string | undefined }[] = [
    { who: 'no token', token: () => undefined },
    { who: 'a wrong token', token: () => 'baton_not-a-real-token' },
    { who: 'viewer', role: 'viewer', token: () => tokens.viewer },
    { who: 'operator', role: 'operator', token: () => tokens.operator },
    { who: 'admin', role: 'admin', token: () => tokens.admin },
  ];

  for (const [route, need] of Object.entries(ROUTE_ROLES) as [string, Requirement][]) {
    const [method] = route.split(' ') as [string];
    for (const caller of callers) {
      const expect = need === 'open' ? 'ok' : caller.role === undefined ? 401 : allows(caller.role, need) ? 'ok' : 403;
      it(`${route} as ${caller.who} → ${expect === 'ok' ? 'allowed' : expect}`, async () => {
        const r = requests[route]!();
        const res = await call(scheduler.api, method, r.url, caller.token(), r.body);
        if (expect === 'ok') {
          assert.equal(res.status, r.ok, JSON.stringify(res.json));
        } else if (expect === 401) {
          assert.equal(res.status, 401);
          assert.deepEqual(res.json, { error: MISSING, code: 'unauthenticated' });
          assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
        } else {
          assert.equal(res.status, 403);
          assert.deepEqual(res.json, { error: `this call needs the ${need} role; your token (name ${names[caller.role!]}) has ${caller.role}`, code: 'forbidden' });
        }
      });
    }
  }

  it('GET /v1/whoami names each token and its role', async () => {
    for (const role of ['viewer', 'operator', 'admin'] as const) {
      const res = await call(scheduler.api, 'GET', '/v1/whoami', tokens[role]);
      assert.deepEqual(res.json, { name: names[role], role, auth: true });
    }
  });

  it('the exact 401 and 403 messages of the issue', async () => {
    const denied = await call(scheduler.api, 'POST', '/v1/jobs', tokens.viewer, { worker_id: worker.id, command: 'bash', path: 'ok.sh' });
    assert.equal(denied.status, 403);
    assert.deepEqual(denied.json, { error: 'this call needs the operator role; your token (name view) has viewer', code: 'forbidden' });
    for (const bad of [undefined, '', 'Basic dXNlcjpwYXNz', 'baton_x y', `${tokens.admin}x`]) {
      const res = await call(scheduler.api, 'GET', '/v1/jobs', bad);
      assert.equal(res.status, 401, String(bad));
      assert.deepEqual(res.json, { error: MISSING, code: 'unauthenticated' });
    }
    // A stranger learns nothing about which routes exist.
    assert.equal((await call(scheduler.api, 'GET', '/no/such/route')).status, 401);
    assert.equal((await call(scheduler.api, 'GET', '/no/such/route', tokens.viewer)).status, 404);
  });

  it('tokens made over HTTP work at once, are listed without secrets, and stop working when revoked', async () => {
    const made = await call(scheduler.api, 'POST', '/v1/tokens', tokens.admin, { name: 'deploy', role: 'operator' });
    assert.equal(made.status, 201);
    assert.equal(made.json.name, 'deploy');
    assert.equal(made.json.role, 'operator');
    const secret = String(made.json.token);
    assert.equal((await call(scheduler.api, 'GET', '/v1/jobs', secret)).status, 200);
    assert.equal((await call(scheduler.api, 'POST', '/v1/tokens', tokens.admin, { name: 'deploy', role: 'viewer' })).status, 409);
    assert.equal((await call(scheduler.api, 'POST', '/v1/tokens', tokens.admin, { name: 'x', role: 'root' })).status, 400);
    assert.equal((await call(scheduler.api, 'POST', '/v1/tokens', tokens.admin, { name: '../x', role: 'viewer' })).status, 400);

    const list = await call(scheduler.api, 'GET', '/v1/tokens', tokens.admin);
    const listed = (list.json.tokens as Record<string, unknown>[]).find((t) => t.name === 'deploy');
    assert.deepEqual(Object.keys(listed ?? {}).sort(), ['created_at', 'name', 'revoked_at', 'role']);
    assert.ok(!JSON.stringify(list.json).includes(secret.slice(6)), 'no secret in the list');

    const revoked = await call(scheduler.api, 'DELETE', '/v1/tokens/deploy', tokens.admin);
    assert.equal(revoked.status, 200);
    assert.equal(typeof revoked.json.revoked_at, 'string');
    assert.equal((await call(scheduler.api, 'GET', '/v1/jobs', secret)).status, 401);
  });

  it('a token made or revoked by `baton token` while the scheduler runs counts within a moment', async () => {
    const secret = await createToken(scheduler.dataDir, 'viewer', 'late');
    await eventually(async () => ((await call(scheduler.api, 'GET', '/v1/jobs', secret)).status === 200 ? true : undefined), 'the new token to work', 5_000);
    const listed = await baton(['token', 'list', '--data-dir', scheduler.dataDir]);
    assert.match(listed, /^late\s+viewer\s/m);
    assert.ok(!listed.includes(secret));
    await baton(['token', 'revoke', 'late', '--data-dir', scheduler.dataDir]);
    await eventually(async () => ((await call(scheduler.api, 'GET', '/v1/jobs', secret)).status === 401 ? true : undefined), 'the revoked token to fail', 5_000);
  });

  it('every job records who submitted it and who stopped it', async () => {
    const start = await call(scheduler.api, 'POST', '/v1/jobs', tokens.operator, { worker_id: worker.id, command: 'bash', path: 'long.sh' });
    assert.equal(start.status, 201);
    assert.equal(start.json.submitted_by, 'ci');
    assert.equal(start.json.stopped_by, null);
    const id = String(start.json.id);
    const stop = await call(scheduler.api, 'POST', `/v1/jobs/${id}/stop`, tokens.admin);
    assert.equal(stop.status, 200, JSON.stringify(stop.json));
    const job = await waitFinal(scheduler.api, tokens.viewer, id);
    assert.equal(job.state, 'stopped');
    assert.equal(job.submitted_by, 'ci');
    assert.equal(job.stopped_by, 'root');

    // The original calls too.
    const orig = await call(scheduler.api, 'POST', '/start', tokens.admin, { worker_id: worker.id, command: 'bash', path: 'long.sh' });
    const origId = String(orig.json.job_id);
    assert.deepEqual((await call(scheduler.api, 'POST', '/stop', tokens.operator, { worker_id: worker.id, job_id: origId })).json, { success: true });
    const origJob = await waitFinal(scheduler.api, tokens.viewer, origId);
    assert.equal(origJob.submitted_by, 'root');
    assert.equal(origJob.stopped_by, 'ci');
    const listed = await call(scheduler.api, 'GET', `/v1/jobs?worker_id=${worker.id}`, tokens.viewer);
    assert.equal((listed.json.jobs as Record<string, unknown>[]).find((j) => j.id === origId)?.stopped_by, 'ci');
  });

  it('without tokens (--no-auth) jobs are recorded as anonymous', async () => {
    const open = await startScheduler();
    const w = await startWorker(open, { jobsDir: jobsDir(JOBS) });
    const start = await call(open.api, 'POST', '/v1/jobs', undefined, { worker_id: w.id, command: 'bash', path: 'long.sh' });
    assert.equal(start.json.submitted_by, 'anonymous');
    const stopped = await call(open.api, 'POST', `/v1/jobs/${String(start.json.id)}/stop`);
    assert.equal(stopped.status, 200);
    assert.equal((await waitFinal(open.api, 'ignored', String(start.json.id))).stopped_by, 'anonymous');
    await w.kill();
    await open.kill();
  });

  it('repeated bad tokens from one address are slowed down with 429 and Retry-After; a valid token is still served', async () => {
    const dataDir = tempDir('baton-auth-slow-');
    const admin = await createToken(dataDir, 'admin', 'root');
    const s = await startScheduler({ dataDir, args: ['--auth'] });
    // No Authorization header is not a guess: it does not count.
    for (let i = 0; i < 15; i++) assert.equal((await call(s.api, 'GET', '/v1/jobs')).status, 401);
    for (let i = 0; i < 10; i++) assert.equal((await call(s.api, 'GET', '/v1/jobs', `baton_guess${i}`)).status, 401, `guess ${i}`);
    const slowed = await call(s.api, 'GET', '/v1/jobs', 'baton_guess10');
    assert.equal(slowed.status, 429);
    assert.match(String(slowed.json.error), /too many failed authentication attempts from 127\.0\.0\.1: send a valid token, or retry in \d+s/);
    const retryAfter = Number(slowed.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    // The same address with a valid token: served, reads and writes alike, all through the lockout.
    assert.equal((await call(s.api, 'GET', '/v1/jobs', admin)).status, 200);
    assert.equal((await call(s.api, 'POST', '/v1/tokens', admin, { name: 'during-lockout', role: 'viewer' })).status, 201);
    // Failing attempts go on being refused, a missing token included, and the admin is still served between them.
    for (let i = 11; i < 16; i++) assert.equal((await call(s.api, 'GET', '/v1/jobs', `baton_guess${i}`)).status, 429, `guess ${i}`);
    assert.equal((await call(s.api, 'GET', '/v1/jobs')).status, 429, 'no token during the lockout');
    assert.equal((await call(s.api, 'GET', '/v1/tokens', admin)).status, 200);
    assert.equal((await call(s.api, 'GET', '/healthz')).status, 200, '/healthz stays open');
    await s.kill();
  });

  it('behind a --trusted-proxy each forwarded client has its own budget', async () => {
    const dataDir = tempDir('baton-auth-proxy-');
    const admin = await createToken(dataDir, 'admin', 'root');
    const s = await startScheduler({ dataDir, args: ['--auth', '--auth-max-failures', '3', '--trusted-proxy', '10.9.9.9,10.8.0.0/16', '--trusted-proxy', '127.0.0.1'] });
    const attacker = { 'x-forwarded-for': '203.0.113.66' };
    const other = { 'x-forwarded-for': '198.51.100.7' };
    for (let i = 0; i < 3; i++) assert.equal((await call(s.api, 'GET', '/v1/jobs', `baton_guess${i}`, undefined, attacker)).status, 401);
    const slowed = await call(s.api, 'GET', '/v1/jobs', 'baton_guess3', undefined, attacker);
    assert.equal(slowed.status, 429);
    assert.match(String(slowed.json.error), /from 203\.0\.113\.66:/);
    // Forging more of the header does not help: the right-most address that is not a trusted proxy is the client.
    assert.equal((await call(s.api, 'GET', '/v1/jobs', 'baton_guess4', undefined, { 'x-forwarded-for': '192.0.2.1, 203.0.113.66' })).status, 429);
    // Another client behind the same proxy is not locked out: its bad token is a 401, its good one a 200.
    assert.equal((await call(s.api, 'GET', '/v1/jobs', 'baton_typo', undefined, other)).status, 401);
    assert.equal((await call(s.api, 'GET', '/v1/jobs', admin, undefined, other)).status, 200);
    assert.equal((await call(s.api, 'GET', '/v1/jobs', admin, undefined, attacker)).status, 200);
    // The proxy's own calls (no header) have a budget of their own too.
    assert.equal((await call(s.api, 'GET', '/v1/jobs', 'baton_guess5')).status, 401);
    // The audit line names the forwarded client and the proxy it came through.
    const line = await s.waitForLog((l) => l.msg === 'audit' && l.auth_failure === 'throttled');
    assert.equal(line.client, '203.0.113.66');
    assert.equal(line.proxy, '127.0.0.1');
    await s.kill();
  });

  it('without --trusted-proxy X-Forwarded-For is ignored: forging it does not dodge the throttle', async () => {
    const s = await startScheduler({ dataDir: tempDir('baton-auth-noproxy-'), args: ['--auth', '--auth-max-failures', '3'] });
    for (let i = 0; i < 3; i++) assert.equal((await call(s.api, 'GET', '/v1/jobs', `baton_guess${i}`, undefined, { 'x-forwarded-for': `203.0.113.${i}` })).status, 401);
    const slowed = await call(s.api, 'GET', '/v1/jobs', 'baton_guess3', undefined, { 'x-forwarded-for': '203.0.113.99' });
    assert.equal(slowed.status, 429);
    assert.match(String(slowed.json.error), /from 127\.0\.0\.1:/);
    const line = await s.waitForLog((l) => l.msg === 'audit' && l.auth_failure === 'bad_token');
    assert.equal(line.client, '127.0.0.1');
    assert.equal(line.proxy, undefined);
    await s.kill();
  });

  it('a bad --trusted-proxy, on the command line or in baton.toml, stops the scheduler with the rule', async () => {
    const refused = async (args: string[]) => {
      const err = await startScheduler({ dataDir: tempDir('baton-auth-badproxy-'), args }).then(
        async (s) => {
          await s.kill();
          return undefined;
        },
        (e: unknown) => e as Error,
      );
      assert.ok(err instanceof Error, `the scheduler refused to start with ${args.join(' ')}`);
      return err.message;
    };
    assert.match(await refused(['--trusted-proxy', 'proxy.local']), /not a trusted proxy: "proxy.local" \(a trusted proxy is an IP address/);
    const config = path.join(tempDir('baton-auth-toml-'), 'baton.toml');
    writeFileSync(config, '[scheduler]\ntrusted-proxy = ["127.0.0.1", "10.0.0.0/33"]\n');
    assert.match(await refused(['--config', config]), /not a trusted proxy: "10.0.0.0\/33"/);
  });

  it('failed authentications, token changes and every change are audit lines, without secrets', async () => {
    const dataDir = tempDir('baton-auth-audit-');
    const admin = await createToken(dataDir, 'admin', 'root');
    const s = await startScheduler({ dataDir, args: ['--auth'] });
    const w = await startWorker(s, { jobsDir: jobsDir(JOBS) });
    const audit = (match: (l: Record<string, unknown>) => boolean) => s.waitForLog((l) => l.msg === 'audit' && match(l), 10_000);

    assert.equal((await call(s.api, 'POST', '/v1/jobs/some-job/stop', 'baton_wrong-guess')).status, 401);
    assert.equal((await call(s.api, 'GET', '/v1/jobs')).status, 401);
    const made = await call(s.api, 'POST', '/v1/tokens', admin, { name: 'deploy', role: 'operator' });
    assert.equal(made.status, 201);
    const secret = String(made.json.token);
    const job = await call(s.api, 'POST', '/v1/jobs', secret, { worker_id: w.id, command: 'bash', path: 'ok.sh' });
    assert.equal(job.status, 201);
    const original = await call(s.api, 'POST', '/start', admin, { worker_id: w.id, command: 'bash', path: 'ok.sh' });
    assert.equal(original.status, 201);
    // Reads are not audit lines: a GET, and the original /query (a POST that changes nothing).
    assert.equal((await call(s.api, 'GET', '/v1/jobs', secret)).status, 200);
    assert.equal((await call(s.api, 'POST', '/query', secret, { worker_id: w.id, job_id: String(original.json.job_id) })).status, 200);
    assert.equal((await call(s.api, 'GET', '/v1/tokens', secret)).status, 403);
    assert.equal((await call(s.api, 'DELETE', '/v1/tokens/deploy', admin)).status, 200);

    const who = { client: '127.0.0.1' };
    assert.deepEqual(pick(await audit((l) => l.auth_failure === 'bad_token')), {
      ...who,
      actor: 'anonymous',
      role: null,
      method: 'POST',
      route: '/v1/jobs/:id/stop',
      status: 401,
      auth_failure: 'bad_token',
      job_id: 'some-job',
    });
    assert.deepEqual(pick(await audit((l) => l.auth_failure === 'no_token')), {
      ...who,
      actor: 'anonymous',
      role: null,
      method: 'GET',
      route: '/v1/jobs',
      status: 401,
      auth_failure: 'no_token',
    });
    assert.deepEqual(pick(await audit((l) => l.route === '/v1/tokens' && l.method === 'POST')), {
      ...who,
      actor: 'root',
      role: 'admin',
      method: 'POST',
      route: '/v1/tokens',
      status: 201,
      token: 'deploy',
    });
    assert.deepEqual(pick(await audit((l) => l.route === '/v1/jobs' && l.method === 'POST')), {
      ...who,
      actor: 'deploy',
      role: 'operator',
      method: 'POST',
      route: '/v1/jobs',
      status: 201,
      job_id: String(job.json.id),
      worker_id: w.id,
    });
    assert.deepEqual(pick(await audit((l) => l.route === '/start')), {
      ...who,
      actor: 'root',
      role: 'admin',
      method: 'POST',
      route: '/start',
      status: 201,
      job_id: String(original.json.job_id),
      worker_id: w.id,
    });
    assert.deepEqual(pick(await audit((l) => l.status === 403)), { ...who, actor: 'deploy', role: 'operator', method: 'GET', route: '/v1/tokens', status: 403 });
    // The last call: once its line is in, every earlier line is too (one stream, in order).
    assert.deepEqual(pick(await audit((l) => l.method === 'DELETE')), {
      ...who,
      actor: 'root',
      role: 'admin',
      method: 'DELETE',
      route: '/v1/tokens/:name',
      status: 200,
      token: 'deploy',
    });

    const lines = s.logs.filter((l) => l.msg === 'audit');
    assert.equal(lines.filter((l) => l.method === 'GET' && l.status === 200).length, 0, 'no line for a read');
    assert.equal(lines.filter((l) => l.route === '/query').length, 0, 'no line for /query');
    const everything = s.output.join('\n');
    for (const hidden of [secret, admin, 'baton_wrong-guess']) assert.ok(!everything.includes(hidden.slice('baton_'.length)), `${hidden.slice(0, 10)}… is not in the log`);
    await w.kill();
    await s.kill();
  });

  it('serves HTTPS with TLS 1.3 when given a certificate and key', async () => {
    // A certificate from `baton certs` (it carries 127.0.0.1), trusted through its CA: no openssl needed.
    const dir = tempDir('baton-https-');
    await initCaFiles(dir);
    const { cert, key, ca } = await issueCertFiles(dir, { role: 'scheduler' });
    const s = await startScheduler({ args: ['--https-cert', cert, '--https-key', key] });
    const url = new URL('/healthz', s.api.replace('http://', 'https://'));
    const get = (maxVersion: 'TLSv1.3' | 'TLSv1.2') =>
      new Promise<{ status: number; protocol: string }>((resolve, reject) => {
        const req = httpsRequest(url, { ca: readFileSync(ca), maxVersion }, (res) => {
          const protocol = (res.socket as import('node:tls').TLSSocket).getProtocol() ?? '';
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, protocol }));
        });
        req.on('error', reject);
        req.end();
      });
    assert.deepEqual(await get('TLSv1.3'), { status: 200, protocol: 'TLSv1.3' });
    await assert.rejects(get('TLSv1.2'), 'TLS 1.2 is refused');
    await assert.rejects(fetch(`${s.api}/healthz`), 'no plain HTTP on the HTTPS port');
    await s.kill();
  });
});
