// Every bad input in DESIGN.md's list gets its status and a {"error"} that names the problem.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { symlinkSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { SubmitJobSchema } from '../src/api/jobs.js';
import { startScheduler, startWorker, jobsDir, curlPost, getJson, type SchedulerHandle, type WorkerHandle } from './harness.js';

describe('bad input', () => {
  let scheduler: SchedulerHandle;
  let worker: WorkerHandle;
  let doomed: WorkerHandle;

  before(async () => {
    const jobs = jobsDir({ 'ok.sh': '#!/bin/bash\necho ok\n', 'sub/inner.sh': '#!/bin/bash\necho inner\n' });
    symlinkSync('/etc/passwd', path.join(jobs, 'escape.sh'));
    scheduler = await startScheduler();
    [worker, doomed] = await Promise.all([startWorker(scheduler, { jobsDir: jobs }), startWorker(scheduler, { jobsDir: jobs })]);
  });

  const cases: { name: string; route: string; body: () => unknown; status: number; error: RegExp }[] = [
    { name: 'bad JSON', route: '/start', body: () => '{"worker_id": ', status: 400, error: /JSON/i },
    { name: 'missing field', route: '/start', body: () => ({ worker_id: worker.id, path: 'ok.sh' }), status: 400, error: /command/ },
    { name: 'wrong type', route: '/start', body: () => ({ worker_id: worker.id, command: 42, path: 'ok.sh' }), status: 400, error: /command/ },
    { name: 'unknown worker', route: '/start', body: () => ({ worker_id: 'nope', command: 'bash', path: 'ok.sh' }), status: 404, error: /worker.*nope/ },
    {
      name: 'path escaping the jobs folder',
      route: '/start',
      body: () => ({ worker_id: worker.id, command: 'cat', path: '../../etc/shadow' }),
      status: 400,
      error: /outside the jobs folder/,
    },
    { name: 'absolute path', route: '/start', body: () => ({ worker_id: worker.id, command: 'cat', path: '/etc/shadow' }), status: 400, error: /path/ },
    {
      name: 'symlink out of the jobs folder',
      route: '/start',
      body: () => ({ worker_id: worker.id, command: 'cat', path: 'escape.sh' }),
      status: 400,
      error: /outside the jobs folder/,
    },
    { name: 'missing script', route: '/start', body: () => ({ worker_id: worker.id, command: 'bash', path: 'nope.sh' }), status: 400, error: /nope\.sh/ },
    {
      name: 'command not found',
      route: '/start',
      body: () => ({ worker_id: worker.id, command: 'no-such-command-xyz', path: 'ok.sh' }),
      status: 400,
      error: /command not found: no-such-command-xyz/,
    },
    { name: 'unknown job (query)', route: '/query', body: () => ({ worker_id: worker.id, job_id: 'nope' }), status: 404, error: /nope/ },
    { name: 'unknown job (stop)', route: '/stop', body: () => ({ worker_id: worker.id, job_id: 'nope' }), status: 404, error: /nope/ },
    { name: 'unknown job (stream)', route: '/stream', body: () => ({ worker_id: worker.id, job_id: 'nope' }), status: 404, error: /nope/ },
    {
      name: 'body too large',
      route: '/start',
      body: () => JSON.stringify({ worker_id: worker.id, command: 'x'.repeat(2 * 1024 * 1024), path: 'ok.sh' }),
      status: 413,
      error: /limit/,
    },
  ];

  for (const c of cases) {
    it(`${c.name} → ${c.status}`, async () => {
      const res = await curlPost(`${scheduler.api}${c.route}`, c.body());
      assert.equal(res.status, c.status, res.text);
      assert.equal(typeof res.json.error, 'string', res.text);
      assert.match(String(res.json.error), c.error);
    });
  }

  // Bodies are checked as sent: a wrong type is not coerced, and an unknown field is refused
  // (before, `"priority":"7"` ran at priority 7 and `"timout":5` ran with no timeout).
  const strict: { name: string; route: string; body: () => unknown; error: RegExp }[] = [
    { name: 'a number for an id (/stop)', route: '/stop', body: () => ({ worker_id: 42, job_id: ['x'] }), error: /^worker_id must be string/ },
    { name: 'a list for an id (/query)', route: '/query', body: () => ({ worker_id: worker.id, job_id: ['x'] }), error: /^job_id must be string/ },
    {
      name: 'an unknown field (/start)',
      route: '/start',
      body: () => ({ worker_id: worker.id, command: 'bash', path: 'ok.sh', args: ['x'] }),
      error: /^args is not a known field/,
    },
    { name: 'a list for the command', route: '/v1/jobs', body: () => ({ command: ['true'], priority: '7', args: 'x' }), error: /^(command|priority|args) must be/ },
    { name: 'a string for the priority', route: '/v1/jobs', body: () => ({ command: 'true', priority: '7' }), error: /^priority must be integer/ },
    { name: 'a string for the arguments', route: '/v1/jobs', body: () => ({ command: 'true', args: 'x' }), error: /^args must be array/ },
    { name: 'a string for the timeout', route: '/v1/jobs', body: () => ({ command: 'true', timeout: '5' }), error: /^timeout must be number/ },
    {
      name: 'a misspelt field',
      route: '/v1/jobs',
      body: () => ({ command: 'true', lables: { gpu: 'true' }, timout: 5 }),
      error: /^lables is not a known field \(known: worker_id, labels,/,
    },
    { name: 'a misspelt nested field', route: '/v1/jobs', body: () => ({ command: 'true', retry: { max_attempt: 3 } }), error: /^retry\.max_attempt is not a known field/ },
    { name: 'a number for a label', route: '/v1/jobs', body: () => ({ command: 'true', labels: { gpu: 1 } }), error: /^labels\.gpu must be string/ },
    {
      name: 'a bad item of a batch',
      route: '/v1/jobs/batch',
      body: () => ({ jobs: [{ command: 'true' }, { command: 'true' }, { command: 'true', priority: '7' }] }),
      error: /^jobs\[2\]\.priority must be integer/,
    },
    { name: 'an unknown field in a batch', route: '/v1/jobs/batch', body: () => ({ jobs: [{ command: 'true', timout: 5 }] }), error: /^jobs\[0\]\.timout is not a known field/ },
    { name: 'stdin that is not base64', route: '/v1/jobs', body: () => ({ command: 'cat', stdin: 'hi there' }), error: /^stdin must be base64/ },
    { name: 'unpadded base64 stdin', route: '/v1/jobs', body: () => ({ command: 'cat', stdin: 'aGk' }), error: /^stdin must be base64/ },
    { name: 'stdin over 512 KiB', route: '/v1/jobs', body: () => ({ command: 'cat', stdin: 'A'.repeat(699_056) }), error: /^stdin must NOT have more than 699052 characters/ },
    { name: 'an empty name', route: '/v1/jobs', body: () => ({ command: 'true', name: '' }), error: /^name must NOT have fewer than 1 characters/ },
    { name: 'a bad role', route: '/v1/tokens', body: () => ({ name: 'ci', role: 'root' }), error: /^role must be one of viewer, operator, admin/ },
  ];
  for (const c of strict) {
    it(`${c.name} → 400 naming the field`, async () => {
      const before = await getJson(`${scheduler.api}/v1/jobs?limit=500`);
      const res = await curlPost(`${scheduler.api}${c.route}`, c.body());
      assert.equal(res.status, 400, res.text);
      assert.match(String(res.json.error), c.error);
      const after = await getJson(`${scheduler.api}/v1/jobs?limit=500`);
      assert.equal((after.json.jobs as unknown[]).length, (before.json.jobs as unknown[]).length, 'no job was made');
    });
  }

  // Properties over the submit schema itself: one defect anywhere in an otherwise good body is a
  // 400 naming it, and no job is made.
  describe('any one wrong type or unknown field in a submit', () => {
    type Node = { type?: string | string[]; properties?: Record<string, Node>; anyOf?: unknown; const?: unknown };
    const WRONG: Record<string, unknown[]> = {
      string: [7, true, null, ['x'], { a: 'b' }],
      integer: ['7', 1.5, true, null, [1]],
      number: ['7', true, null, [1], {}],
      boolean: ['true', 1, null],
      array: ['x', 1, { 0: 'x' }, null],
      object: ['x', 1, ['x'], null],
    };
    // Every field with a plain type, by its path, and the objects that refuse unknown fields.
    const fields: { path: string[]; type: string }[] = [];
    const objects: string[][] = [];
    const walk = (node: Node, path: string[]): void => {
      if (typeof node.type === 'string' && node.anyOf === undefined && !(node.type === 'string' && node.const !== undefined && path.length === 0))
        fields.push({ path, type: node.type });
      if (node.type === 'object' && node.properties) {
        objects.push(path);
        for (const [k, v] of Object.entries(node.properties)) walk(v, [...path, k]);
      }
    };
    walk(SubmitJobSchema as Node, []);
    const withValue = (path: string[], value: unknown): Record<string, unknown> => {
      // A nested object's required fields are there, so the one defect is the only thing to name.
      const body: Record<string, unknown> = { command: 'true', labels: { nowhere: 'x' }, concurrency: { key: 'k', limit: 1 } };
      let at = body;
      for (const key of path.slice(0, -1)) at = (at[key] = typeof at[key] === 'object' ? at[key] : {}) as Record<string, unknown>;
      at[path.at(-1)!] = value;
      return body;
    };
    const ident = fc.stringMatching(/^[a-z_][a-z0-9_]{0,11}$/);

    it('a wrong type → 400 naming the field', async () => {
      const wrong = fc.constantFrom(...fields.filter((f) => f.path.length > 0)).chain((f) => fc.tuple(fc.constant(f), fc.constantFrom(...(WRONG[f.type] ?? []))));
      await fc.assert(
        fc.asyncProperty(wrong, async ([field, value]) => {
          const res = await curlPost(`${scheduler.api}/v1/jobs`, withValue(field.path, value));
          assert.equal(res.status, 400, res.text);
          assert.ok(String(res.json.error).startsWith(`${field.path.join('.')} must be`), res.text);
        }),
        { numRuns: 60 },
      );
    });

    it('an unknown field at any level → 400 naming it', async () => {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...objects), ident, async (at, key) => {
          fc.pre(!Object.keys(at.reduce((n: Node, k) => n.properties![k]!, SubmitJobSchema as Node).properties ?? {}).includes(key));
          const body = at.length === 0 ? { command: 'true', labels: { nowhere: 'x' }, [key]: 1 } : withValue([...at, key], 1);
          const res = await curlPost(`${scheduler.api}/v1/jobs`, body);
          assert.equal(res.status, 400, res.text);
          assert.ok(String(res.json.error).startsWith(`${[...at, key].join('.')} is not a known field`), res.text);
        }),
        { numRuns: 60 },
      );
    });
  });

  it('a job stop with a misspelt grace, or a grace that is not a number of seconds, → 400 naming it', async () => {
    const job = await curlPost(`${scheduler.api}/v1/jobs`, { command: 'true', labels: { nobody: 'has-this' } });
    assert.equal(job.status, 201, job.text);
    for (const [body, error] of [
      [{ grace_ms: 5000 }, /^grace_ms is not a known field/],
      [{ grace: '5s' }, /^grace must be number/],
      [{ grace: -1 }, /^grace must be >= 0/],
    ] as const) {
      const res = await curlPost(`${scheduler.api}/v1/jobs/${String(job.json.id)}/stop`, body);
      assert.equal(res.status, 400, res.text);
      assert.match(String(res.json.error), error);
    }
    const stop = await fetch(`${scheduler.api}/v1/jobs/${String(job.json.id)}/stop`, { method: 'POST' });
    assert.equal(stop.status, 200, 'no body at all is the same as {}');
  });

  it('query parameters are read as numbers and booleans only when they are spelt as such', async () => {
    for (const [url, error] of [
      ['/v1/jobs?limit=abc', /^limit must be integer/],
      ['/v1/jobs?limit=1e400', /^limit must be integer/],
      ['/v1/jobs?limit=501', /^limit must be <= 500/],
      ['/v1/jobs?limit=2.5', /^limit must be integer/],
      ['/v1/jobs?state=done', /^state must be one of waiting, queued, /],
      ['/v1/jobs?limt=5', /^limt is not a known field/],
      ['/v1/jobs/x/wait?timeout=soon', /^timeout must be number/],
    ] as const) {
      const res = await getJson(`${scheduler.api}${url}`);
      assert.equal(res.status, 400, url);
      assert.match(String(res.json.error), error, url);
    }
    assert.equal((await getJson(`${scheduler.api}/v1/jobs?limit=3&state=queued`)).status, 200);
  });

  it('a job on another worker is not found through this one', async () => {
    const start = await curlPost(`${scheduler.api}/start`, { worker_id: worker.id, command: 'bash', path: 'ok.sh' });
    const res = await curlPost(`${scheduler.api}/query`, { worker_id: doomed.id, job_id: start.json.job_id });
    assert.equal(res.status, 404, res.text);
  });

  it('a body over the limit is answered 413 the client can read, every time (no reset while it still sends)', async () => {
    // Closing the connection as the answer goes out resets it under a client still sending its
    // body; most of these then failed with "fetch failed" instead of reading the 413.
    const body = JSON.stringify({ worker_id: worker.id, command: 'x'.repeat(4 * 1024 * 1024), path: 'ok.sh' });
    for (let i = 0; i < 10; i++) {
      const res = await curlPost(`${scheduler.api}/start`, body);
      assert.equal(res.status, 413, res.text);
    }
    const after = await curlPost(`${scheduler.api}/query`, { worker_id: worker.id, job_id: 'nope' });
    assert.equal(after.status, 404, 'the connection is still good for the next request');
  });

  it('a job too large for any worker to take (only possible with --body-limit over 16 MiB) is refused 413 at submit, and not stored', async () => {
    const big = await startScheduler({ args: ['--body-limit', '40MiB'] });
    try {
      const res = await curlPost(`${big.api}/v1/jobs`, { command: 'env', env: { DATA: 'x'.repeat(17 * 1024 * 1024) } });
      assert.equal(res.status, 413, res.text.slice(0, 300));
      assert.match(String(res.json.error), /^the job is too large to send to a worker: 17\.0 MiB/);
      const stored = await fetch(`${big.api}/v1/jobs`);
      assert.deepEqual(((await stored.json()) as { jobs: unknown[] }).jobs, []);
    } finally {
      await big.kill();
    }
  });

  it('unknown routes and jobs answer 404 with {error}', async () => {
    for (const url of ['/nope', '/v1/jobs/nope', '/v1/workers/nope']) {
      const res = await fetch(`${scheduler.api}${url}`);
      assert.equal(res.status, 404, url);
      assert.equal(typeof ((await res.json()) as { error: unknown }).error, 'string');
    }
  });

  it('a worker that is gone answers 502/503 with a message, not a hang', async () => {
    await doomed.kill('SIGKILL');
    const res = await curlPost(`${scheduler.api}/start`, { worker_id: doomed.id, command: 'bash', path: 'ok.sh' });
    assert.ok([502, 503].includes(res.status), `status ${res.status}: ${res.text}`);
    assert.match(String(res.json.error), new RegExp(doomed.id));
    const health = await fetch(`${scheduler.api}/healthz`);
    assert.equal(health.status, 200, 'the scheduler still answers');
  });
});
