// 10,000 random and malformed HTTP requests against a real scheduler with a real worker:
// no 5xx, every error body is {"error": string}, and the scheduler is still up afterwards.
// Raw TCP, so framing can be broken on purpose. Seeded: BATON_FUZZ_SEED=<n> replays a run.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startScheduler, startWorker, jobsDir, tempDir, type SchedulerHandle, type WorkerHandle } from './harness.js';
import { ERRORS, isErrorCode, type ErrorCode } from '../src/common/errors.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const REQUESTS = Number(process.env.BATON_FUZZ_REQUESTS ?? 10_000);
const CONCURRENCY = 16;
const SEED = process.env.BATON_FUZZ_SEED ? Number(process.env.BATON_FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);

/** mulberry32: small, fast, good enough to pick fuzz cases reproducibly. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Case {
  n: number;
  head: string;
  body: Buffer;
  /** The framing promises more body than is sent: the server may rightly give no answer. */
  truncated: boolean;
  method: string;
}

interface Outcome {
  status: number | undefined;
  headers: Record<string, string>;
  body: Buffer;
  timedOut: boolean;
  /** The server closed the connection while the request was still being sent. */
  cutOff: boolean;
}

class Gen {
  constructor(
    readonly rnd: () => number,
    readonly ctx: { workerId: string; jobIds: string[]; admin: string; viewer: string },
  ) {}

  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }
  chance(p: number): boolean {
    return this.rnd() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
  text(max = 24): string {
    const alphabets = ['abcxyz019-_', 'ünï©ødé✓😀𝄞\u200b\u202e', '%./\\?#&=:;@!$\'"()[]{}<> \t', '\u0000\u0001\u007f\ud800', 'ab'];
    let s = '';
    const len = this.int(max + 1);
    for (let i = 0; i < len; i++) {
      const a = this.pick(alphabets);
      s += [...a][this.int([...a].length)];
    }
    return s;
  }
  id(): string {
    return this.pick([
      () => this.ctx.workerId,
      () => this.pick(this.ctx.jobIds.length ? this.ctx.jobIds : ['none']),
      () => this.text(),
      () => 'x'.repeat(1 + this.int(5000)),
      () => '..',
      () => '%2e%2e',
      () => encodeURIComponent(this.text().replace(/[\ud800-\udfff]/g, 'x')),
      () => '%zz%',
      () => '%00',
      () => '%ff%fe',
      () => `0193${'0'.repeat(28)}`,
    ])();
  }

  path(): string {
    const templates = [
      '/healthz',
      '/start',
      '/stop',
      '/query',
      '/stream',
      '/v1/workers',
      '/v1/workers/{id}',
      '/v1/jobs',
      '/v1/jobs/{id}',
      '/v1/jobs/{id}/stop',
      '/v1/jobs/{id}/output',
      '/v1/tokens',
      '/v1/tokens/{id}',
      '/{id}',
      '/v1/{id}/{id}',
      '/../../etc/passwd',
      '/v1/jobs/../workers',
      '//v1//jobs',
      '/v1/jobs/',
      '/V1/JOBS',
      '*',
      '',
      '/v1/jobs/{id}/output/{id}',
      '/v1/jobs/batch',
      '/v1/workers/{id}/drain',
      '/v1/workers/{id}/undrain',
    ];
    let p = this.pick(templates).replace(/\{id\}/g, () => this.id());
    if (this.chance(0.4)) p += `?${this.query()}`;
    if (this.chance(0.05)) p += `#${this.text()}`;
    if (this.chance(0.02)) p = `http://127.0.0.1${p}`;
    return p;
  }

  query(): string {
    const keys = ['state', 'worker_id', 'limit', 'cursor', 'follow', this.text(8), 'limit', '__proto__', 'constructor'];
    const values = [
      'running',
      'succeeded',
      'nope',
      '0',
      '-1',
      '1',
      '500',
      '501',
      '1e400',
      '99999999999999999999999',
      'true',
      'false',
      'yes',
      '',
      '%zz',
      this.text(),
      'x'.repeat(3000),
      this.id(),
    ];
    const parts: string[] = [];
    for (let i = this.int(5); i >= 0; i--) parts.push(this.chance(0.9) ? `${this.pick(keys)}=${this.pick(values)}` : this.pick(keys));
    return parts.join('&');
  }

  value(depth = 0): unknown {
    const scalars: (() => unknown)[] = [
      () => this.text(),
      () => this.id(),
      () => this.int(100),
      () => -this.int(1000),
      () => 1e308 * (this.chance(0.5) ? 10 : 1),
      () => 2 ** 53 + 1,
      () => 0.5,
      () => true,
      () => null,
      () => 'ok.sh',
      () => 'x'.repeat(this.int(100_000)),
    ];
    if (depth > 3 || this.chance(0.7)) return this.pick(scalars)();
    if (this.chance(0.5)) return Array.from({ length: this.int(4) }, () => this.value(depth + 1));
    return Object.fromEntries(Array.from({ length: this.int(4) }, () => [this.pick(['__proto__', 'constructor', this.text(8), 'a']), this.value(depth + 1)]));
  }

  /** A JSON body shaped like what the routes take, with some fields wrong. */
  jsonBody(present = 0.6, right = 0.85): string {
    const safeCommands = ['echo', 'true', 'zz-no-such-command', `zz-${this.text(8)}`, ''];
    const good: Record<string, () => unknown> = {
      worker_id: () => (this.chance(0.7) ? this.ctx.workerId : this.id()),
      job_id: () => this.pick(this.ctx.jobIds.length ? this.ctx.jobIds : ['none']),
      command: () => this.pick(safeCommands),
      path: () => this.pick(['ok.sh', '', '../../etc/passwd', '/etc/passwd', 'nope.sh', this.text()]),
      args: () => Array.from({ length: this.int(4) }, () => this.text()),
      env: () => ({ [this.pick(['K', 'PATH', 'LD_PRELOAD', this.text(6)])]: this.text() }),
      cwd: () => this.pick(['', '.', '..', '/tmp', this.text()]),
      grace: () => this.pick([0, 10, -1, 1.5, 1e20, 2 ** 32, 2 ** 31, Number.MAX_SAFE_INTEGER, '10']),
      name: () => this.pick([`fz-${this.int(1e9)}`, this.text(), 'x'.repeat(70), '']),
      role: () => this.pick(['viewer', 'operator', 'admin', 'root', this.text()]),
      // Sandbox and fleet fields: each limit is parsed, checked against the worker's maximums and written to a cgroup.
      resources: () => ({
        memory: this.pick(['64MiB', '1e300', 1e300, -1, 0, '10XB', 2 ** 53 + 1, '64 MiB']),
        cpu: this.pick([0.5, 1e300, -1, 0, 0.001, Number.MAX_VALUE, '2', 'x']),
        pids: this.pick([10, 0, -1, 1.5, 2 ** 31, 1e300, '10']),
        io: this.pick([{ read_bps: '1MiB/s' }, { write_iops: 1e300 }, { write_bps: -1 }, { bogus: 1 }, 'x', null]),
      }),
      network: () => this.pick(['none', 'host', '', this.text(), 1]),
      isolate: () => this.pick([true, false, 'yes', 1]),
      timeout: () => this.pick([1, 0, -1, 1e300, 86_401, '30s', 0.5]),
      labels: () => this.pick([{ zone: 'a' }, { [this.text(6)]: this.text() }, [], 'x']),
      priority: () => this.pick([0, 10, -1, 1e300, 1.5, '1']),
      retry: () => this.pick([{ max_attempts: 3 }, { max_attempts: 0 }, { max_attempts: 1e300 }, { on: ['lost', 'nope'] }, 'x']),
    };
    const obj: Record<string, unknown> = {};
    for (const [k, make] of Object.entries(good)) {
      if (this.chance(present)) obj[k] = this.chance(right) ? make() : this.value();
    }
    // Only harmless commands ever reach the worker: a mutated `command` that is not a string is refused anyway.
    if (typeof obj.command === 'string' && !safeCommands.includes(obj.command)) obj.command = 'echo';
    if (this.chance(0.1)) obj[this.text(6)] = this.value();
    return JSON.stringify(obj);
  }

  body(): Buffer {
    const kind = this.int(12);
    if (kind <= 4) return Buffer.from(this.jsonBody());
    if (kind === 5) return this.bytes(this.int(2000));
    if (kind === 6) {
      const depth = this.pick([100, 5000, 100_000]);
      const open = this.pick(['[', '{"a":']);
      return Buffer.from(`${open.repeat(depth)}1${(open === '[' ? ']' : '}').repeat(depth)}`);
    }
    if (kind === 7) return Buffer.from(this.pick(['1e400', '-0', '99999999999999999999999999999', 'null', 'true', '"x"', '[]', '{}', '{"worker_id":1e400}', '[1,2,3]']));
    if (kind === 8) return Buffer.from(this.pick(['{"worker_id": ', '{', '}', '{"a":1,}', "{'a':1}", '\ufeff{}', '{"__proto__":{"x":1}}', 'worker_id=w&command=echo']));
    if (kind === 9) return Buffer.from(`{"command":"${'x'.repeat(this.pick([1000, 900_000, 1_100_000]))}"}`);
    if (kind === 10) return Buffer.alloc(0);
    return Buffer.from(JSON.stringify(this.value()) ?? 'null');
  }

  /** A request a real client could send, with at most a field or two wrong: it gets past parsing and reaches the worker. */
  nearValid(n: number): Case {
    const job = () => this.pick(this.ctx.jobIds.length ? this.ctx.jobIds : ['none']);
    const [method, url] = this.pick([
      ['POST', '/start'],
      ['POST', '/start'],
      ['POST', '/v1/jobs'],
      ['POST', '/v1/jobs'],
      ['POST', '/stop'],
      ['POST', '/query'],
      ['POST', '/stream'],
      ['GET', `/v1/jobs/${job()}`],
      ['POST', `/v1/jobs/${job()}/stop`],
      ['GET', `/v1/jobs/${job()}/output?follow=${this.pick(['true', 'false'])}`],
      ['GET', `/v1/jobs?${this.query()}`],
      ['GET', `/v1/workers/${this.ctx.workerId}`],
      ['POST', '/v1/tokens'],
      ['DELETE', `/v1/tokens/${this.id()}`],
    ] as const);
    const body = method === 'POST' ? Buffer.from(this.jsonBody(0.95, 0.97)) : Buffer.alloc(0);
    const token = this.chance(0.9) ? this.ctx.admin : this.ctx.viewer;
    const head = `${method} ${url} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    return { n, method, head, body, truncated: false };
  }

  make(n: number): Case {
    if (this.chance(0.35)) return this.nearValid(n);
    const method = this.pick(['GET', 'GET', 'POST', 'POST', 'POST', 'DELETE', 'PUT', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE', 'FOO', 'get', 'G ET', '']);
    const body = this.chance(0.8) || method === 'POST' ? this.body() : Buffer.alloc(0);
    const headers: string[] = ['Host: 127.0.0.1', 'Connection: close'];
    const auth = this.int(20);
    if (auth < 15) headers.push(`Authorization: Bearer ${this.ctx.admin}`);
    else if (auth < 17) headers.push(`Authorization: Bearer ${this.ctx.viewer}`);
    else if (auth === 17)
      headers.push(`Authorization: ${this.pick(['Bearer', 'Bearer ', 'Basic YTpi', `bearer ${this.ctx.admin}`, `Bearer ${'A'.repeat(5000)}`, `Bearer ${this.text()}`])}`);
    else if (auth === 18)
      headers.push(
        `Authorization: Bearer ${this.bytes(20)
          .toString('latin1')
          .replace(/[\r\n]/g, '')}`,
      );
    const ct = this.int(10);
    if (ct < 4) headers.push('Content-Type: application/json');
    else if (ct < 6) headers.push('Content-Type: application/x-www-form-urlencoded');
    else if (ct === 6) headers.push(`Content-Type: ${this.pick(['text/plain', 'application/json; charset=utf-16', 'multipart/form-data; boundary=x', '', ';;;', this.text()])}`);
    else if (ct === 7) headers.push('Content-Type: application/json', 'Content-Type: text/plain');
    let truncated = false;
    const framing = this.int(20);
    if (framing < 15) headers.push(`Content-Length: ${body.length}`);
    else if (framing === 15) {
      headers.push(`Content-Length: ${body.length + 1 + this.int(100)}`);
      truncated = true;
    } else if (framing === 16) headers.push(`Content-Length: ${this.pick(['abc', '-1', '1e3', '99999999999999999999', '0x10', ' ', `${body.length}, ${body.length + 1}`])}`);
    else if (framing === 17) headers.push(`Content-Length: ${body.length}`, `Content-Length: ${body.length + 5}`);
    else if (framing === 18) headers.push('Transfer-Encoding: chunked');
    else if (framing === 19) headers.push(`Transfer-Encoding: ${this.pick(['gzip', 'chunked, chunked', 'identity'])}`, `Content-Length: ${body.length}`);
    if (this.chance(0.05)) headers.push(`X-${this.text(6).replace(/[^A-Za-z0-9-]/g, 'a') || 'a'}: ${this.text(200).replace(/[\r\n]/g, ' ')}`);
    if (this.chance(0.01)) headers.push(`X-Big: ${'b'.repeat(20_000)}`);
    if (this.chance(0.02)) headers.push('Expect: 100-continue');
    const chunked = headers.includes('Transfer-Encoding: chunked');
    const sent = chunked ? Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from(this.chance(0.9) ? '\r\n0\r\n\r\n' : '\r\n')]) : body;
    if (chunked && !sent.subarray(-5).equals(Buffer.from('0\r\n\r\n'))) truncated = true;
    return { n, method, head: `${method} ${this.path()} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`, body: sent, truncated };
  }
}

/**
 * Sends one raw request and reads the first final answer. No half-close: Node's HTTP server
 * aborts a request whose client has half-closed. A request whose framing promises more than is
 * sent is ended after a moment; the server may then rightly give no answer.
 */
function send(port: number, c: Case, timeoutMs = 15_000): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let timedOut = false;
    let writing = true;
    let cutOff = false;
    const timer = setTimeout(() => {
      timedOut = true;
      socket.destroy();
    }, timeoutMs);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // The server answered early (413, a 404 that never reads the body, a refused request) and closed
      // while the body was still being sent or sat unread in its buffers: the kernel then resets the
      // connection and may drop the answer with it (Node's HTTP server does no lingering close).
      if (writing || (['ECONNRESET', 'EPIPE'].includes(err.code ?? '') && c.body.length > 64 * 1024)) cutOff = true;
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ ...parse(Buffer.concat(chunks)), timedOut, cutOff });
    });
    socket.write(Buffer.from(c.head, 'utf8'));
    socket.write(c.body, () => {
      writing = false;
      if (c.truncated) setTimeout(() => socket.end(), 200);
    });
  });
}

function parse(raw: Buffer): Pick<Outcome, 'status' | 'headers' | 'body'> {
  // Skip interim answers (100 Continue).
  while (/^HTTP\/1\.[01] 1\d\d /.test(raw.subarray(0, 16).toString('latin1'))) {
    const end = raw.indexOf('\r\n\r\n');
    if (end < 0) break;
    raw = raw.subarray(end + 4);
  }
  const end = raw.indexOf('\r\n\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(raw.subarray(0, 20).toString('latin1'));
  if (!m || end < 0) return { status: undefined, headers: {}, body: raw };
  const headers: Record<string, string> = {};
  for (const line of raw.subarray(0, end).toString('latin1').split('\r\n').slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  let body = raw.subarray(end + 4);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const parts: Buffer[] = [];
    let at = 0;
    for (;;) {
      const nl = body.indexOf('\r\n', at);
      if (nl < 0) break;
      const size = parseInt(body.subarray(at, nl).toString('latin1'), 16);
      if (!size) break;
      parts.push(body.subarray(nl + 2, nl + 2 + size));
      at = nl + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  } else if (headers['content-length'] !== undefined) {
    // A pipelined leftover of a broken request may follow with an answer of its own.
    body = body.subarray(0, Number(headers['content-length']));
  }
  return { status: Number(m[1]), headers, body };
}

/** What is wrong with an answer, or undefined when it is fine. */
function judge(c: Case, o: Outcome): string | undefined {
  if (o.timedOut) return 'no answer within 15s';
  if (o.status === undefined) return c.truncated || o.cutOff ? undefined : `no HTTP answer (${o.body.length} bytes: ${JSON.stringify(o.body.subarray(0, 80).toString('latin1'))})`;
  // The fuzzer drains its worker now and then; a start naming it is then refused, 503 worker_down, by design.
  const refusedByDrain = o.status === 503 && o.body.toString('utf8').includes('"code":"worker_down"');
  if (o.status >= 500 && !refusedByDrain) return `status ${o.status}: ${o.body.subarray(0, 300).toString('utf8')}`;
  if (o.status >= 400 && c.method !== 'HEAD') {
    let json: unknown;
    try {
      json = JSON.parse(o.body.toString('utf8'));
    } catch {
      return `status ${o.status} with a body that is not JSON: ${JSON.stringify(o.body.subarray(0, 200).toString('latin1'))}`;
    }
    if (typeof (json as { error?: unknown } | null)?.error !== 'string') return `status ${o.status} without a string "error": ${o.body.subarray(0, 200).toString('utf8')}`;
    const code = String((json as { code?: unknown }).code);
    if (!isErrorCode(code.toUpperCase()) || code !== code.toLowerCase() || ERRORS[code.toUpperCase() as ErrorCode].http !== o.status) {
      return `status ${o.status} without its catalogue code: ${o.body.subarray(0, 200).toString('utf8')}`;
    }
  }
  return undefined;
}

describe('HTTP fuzz', () => {
  let scheduler: SchedulerHandle;
  let worker: WorkerHandle;
  let admin: string;
  let viewer: string;

  before(async () => {
    const dataDir = tempDir('baton-fuzz-');
    const token = async (role: string, name: string) =>
      (await promisify(execFile)(process.execPath, [MAIN, 'token', 'create', '--role', role, '--name', name, '--data-dir', dataDir])).stdout.trim();
    admin = await token('admin', 'fuzz-admin');
    viewer = await token('viewer', 'fuzz-viewer');
    // Tokens on, so the auth hook is fuzzed too; the slowdown is lifted or the bad-token share would trip it.
    scheduler = await startScheduler({ dataDir, args: ['--auth', '--auth-max-failures', '1000000'] });
    worker = await startWorker(scheduler, { jobsDir: jobsDir({ 'ok.sh': '#!/bin/bash\necho ok\n' }) });
  });

  // Each of these once answered a 5xx, fastify's own error shape, or nothing (kept as regressions).
  const found: { name: string; method: string; url: string; headers?: string; body?: () => unknown; status: number; error: RegExp }[] = [
    { name: 'limit=1e400 (coerced to Infinity, then a SQLite datatype mismatch: 500)', method: 'GET', url: '/v1/jobs?limit=1e400', status: 400, error: /limit/ },
    {
      name: 'a 50 KB path (the worker quoted it in a gRPC trailer too large to send: 504, then a broken channel)',
      method: 'POST',
      url: '/v1/jobs',
      body: () => ({ worker_id: worker.id, command: 'echo', path: 'x'.repeat(50_000) }),
      status: 400,
      error: /path/,
    },
    {
      name: 'a 50 KB cwd',
      method: 'POST',
      url: '/v1/jobs',
      body: () => ({ worker_id: worker.id, command: 'echo', path: 'ok.sh', cwd: 'x'.repeat(50_000) }),
      status: 400,
      error: /cwd/,
    },
    {
      name: 'a 50 KB command through the original /start',
      method: 'POST',
      url: '/start',
      body: () => ({ worker_id: worker.id, command: 'x'.repeat(50_000), path: 'ok.sh' }),
      status: 400,
      error: /command/,
    },
    {
      name: 'a stop with a grace period beyond any gRPC deadline (crashed the scheduler)',
      method: 'POST',
      url: '/v1/jobs/00000000-0000-7000-8000-000000000000/stop',
      body: () => ({ grace: 1e300 }),
      status: 400,
      error: /grace/,
    },
    {
      name: 'a cpu limit of 1e300 (passed the API, then the worker could not write it: 502)',
      method: 'POST',
      url: '/v1/jobs',
      body: () => ({ worker_id: worker.id, command: 'bash', path: 'ok.sh', resources: { cpu: 1e300 } }),
      status: 400,
      error: /cpu/,
    },
    { name: 'an undecodable URL (fastify shape)', method: 'GET', url: '/v1/jobs/%zz%', status: 400, error: /not a valid url/ },
    { name: 'an over-long route parameter (fastify shape, 414)', method: 'GET', url: `/v1/jobs/${'x'.repeat(1000)}`, status: 414, error: /max param length/ },
    {
      name: 'a bad Content-Length (Node parser, fastify shape)',
      method: 'POST',
      url: '/v1/jobs',
      headers: 'Content-Length: abc\r\n',
      status: 400,
      error: /malformed HTTP request/,
    },
    { name: 'an invalid method', method: 'G ET', url: '/v1/jobs', status: 400, error: /malformed HTTP request/ },
    { name: 'headers too large', method: 'GET', url: '/v1/jobs', headers: `X-Big: ${'b'.repeat(20_000)}\r\n`, status: 431, error: /headers are too large/ },
  ];
  for (const f of found) {
    it(`found by fuzzing: ${f.name} → ${f.status} {"error"}`, async () => {
      const body = Buffer.from(f.body ? JSON.stringify(f.body()) : '');
      const framing = f.headers?.includes('Content-Length') ? '' : `Content-Length: ${body.length}\r\n`;
      const head = `${f.method} ${f.url} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer ${admin}\r\nContent-Type: application/json\r\n${framing}${f.headers ?? ''}\r\n`;
      const o = await send(Number(new URL(scheduler.api).port), { n: 0, method: f.method, head, body, truncated: false });
      assert.equal(o.status, f.status, o.body.toString('utf8').slice(0, 300));
      assert.match(String((JSON.parse(o.body.toString('utf8')) as { error: unknown }).error), f.error);
      assert.deepEqual(Object.keys(JSON.parse(o.body.toString('utf8')) as object), ['error', 'code']);
    });
  }

  it(`${REQUESTS} random and malformed requests: no 5xx, JSON errors, still up`, async (t) => {
    t.diagnostic(`fuzz seed ${SEED} (replay with BATON_FUZZ_SEED=${SEED})`);
    console.log(`fuzz seed ${SEED} (replay with BATON_FUZZ_SEED=${SEED})`);
    const port = Number(new URL(scheduler.api).port);
    const ctx = { workerId: worker.id, jobIds: [] as string[], admin, viewer };
    const gen = new Gen(prng(SEED), ctx);
    // Cases are generated in order, one at a time, so a seed gives the same cases whatever the timing.
    const cases = Array.from({ length: REQUESTS }, (_, n) => n);
    const failures: string[] = [];
    const statuses = new Map<string, number>();
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < cases.length) {
        const c = gen.make(next++);
        const o = await send(port, c);
        const key = String(o.status ?? (o.cutOff ? 'cut off while sending' : 'none'));
        statuses.set(key, (statuses.get(key) ?? 0) + 1);
        if (o.status === 201) {
          const id = /"(?:job_)?id":"([0-9a-f-]{36})"/.exec(o.body.toString('utf8'))?.[1];
          if (id && ctx.jobIds.length < 200) ctx.jobIds.push(id);
        }
        const problem = judge(c, o);
        if (problem && failures.length < 20)
          failures.push(`#${c.n} ${JSON.stringify(c.head.slice(0, 300))} body ${JSON.stringify(c.body.subarray(0, 120).toString('latin1'))} (${c.body.length} bytes) → ${problem}`);
      }
    };
    const started = Date.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, lane));
    t.diagnostic(`${REQUESTS} requests in ${Date.now() - started} ms; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);

    const lastWords = (): string => `the scheduler is alive; its last output:\n${scheduler.output.slice(-30).join('\n')}`;
    assert.equal(scheduler.child.exitCode, null, lastWords());
    assert.equal(scheduler.child.signalCode, null, lastWords());
    const health = await fetch(`${scheduler.api}/healthz`);
    assert.equal(health.status, 200, 'the scheduler still answers /healthz');
    const workers = await fetch(`${scheduler.api}/v1/workers/${worker.id}`, { headers: { authorization: `Bearer ${admin}` } });
    assert.equal(((await workers.json()) as { state: string }).state, 'up', 'the worker is still up');
    const logged = scheduler.logs.filter((l) => l.msg === 'request failed').map((l) => JSON.stringify(l).slice(0, 400));
    if (failures.length) {
      const noisy = (p: { logs: Record<string, unknown>[] }) =>
        p.logs
          .filter((l) => Number(l.level) >= 40)
          .slice(0, 10)
          .map((l) => JSON.stringify(l).slice(0, 600));
      t.diagnostic(`scheduler warnings: ${noisy(scheduler).join('\n')}\nworker warnings: ${noisy(worker).join('\n')}`);
    }
    assert.deepEqual(failures, [], `seed ${SEED}: ${failures.length} bad answers`);
    assert.deepEqual(logged, [], `seed ${SEED}: the scheduler logged failed requests`);
  });
});
