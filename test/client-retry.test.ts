// The client asks again after an answer 429 or 503 that says when (Retry-After), and only then.
// The other side is a small real HTTP server playing a busy scheduler (a faulty network stand-in).
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BatonApiError, BatonClient } from '../src/client/index.js';

interface Answer {
  status: number;
  headers?: Record<string, string>;
  body: unknown;
}

/** A server answering each request with the next of `answers` (the last one for ever after), noting when each came. */
async function busyServer(answers: Answer[]): Promise<{ address: string; seen: Array<{ at: number; method: string; url: string; body: string }>; server: Server }> {
  const seen: Array<{ at: number; method: string; url: string; body: string }> = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c));
    req.on('end', () => {
      seen.push({ at: Date.now(), method: req.method ?? '', url: req.url ?? '', body });
      const answer = answers[Math.min(seen.length - 1, answers.length - 1)]!;
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(JSON.stringify(answer.body));
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { address: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

const servers: Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

const JOB = { id: 'j-1', state: 'queued' };
const QUEUE_FULL = { error: 'the queue is full', code: 'queue_full' };
const NOT_NOW = { error: 'shutting down', code: 'unavailable' };

describe('BatonClient retries', () => {
  it('waits as long as Retry-After says after a 503, then sends the same request again', async () => {
    const { address, seen } = await busyServer([
      { status: 503, headers: { 'retry-after': '1' }, body: NOT_NOW },
      { status: 200, body: JOB },
    ]);
    const job = await new BatonClient({ address }).submitJob({ command: 'true' }, { idempotencyKey: 'k1' });
    assert.deepEqual(job, JOB);
    assert.equal(seen.length, 2);
    assert.deepEqual(seen[1]!.body, seen[0]!.body);
    assert.equal(seen[1]!.url, '/v1/jobs');
    // A lower bound only: the client may be late on a busy machine, never early.
    assert.ok(seen[1]!.at - seen[0]!.at >= 950, `asked again after ${seen[1]!.at - seen[0]!.at} ms`);
  });

  it('retries a 429 (a full queue) the same way, up to `retries` times, then reports the answer', async () => {
    const { address, seen } = await busyServer([{ status: 429, headers: { 'retry-after': '0' }, body: QUEUE_FULL }]);
    const err = await new BatonClient({ address, retries: 2 }).submitJob({ command: 'true' }).then(
      () => assert.fail('resolved'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof BatonApiError);
    assert.equal(err.status, 429);
    assert.equal(err.code, 'queue_full');
    assert.equal(seen.length, 3); // the first try and two more
  });

  it('retries a job handle’s calls too: run, then result through a 503', async () => {
    const { address, seen } = await busyServer([
      { status: 429, headers: { 'retry-after': '0' }, body: QUEUE_FULL },
      { status: 200, body: JOB },
      { status: 503, headers: { 'retry-after': '0' }, body: NOT_NOW },
      { status: 200, body: { ...JOB, state: 'succeeded', attempts: [] } },
    ]);
    const job = await new BatonClient({ address }).run({ command: 'true' });
    assert.equal(job.id, 'j-1');
    assert.equal((await job.result()).state, 'succeeded');
    assert.deepEqual(
      seen.map((s) => `${s.method} ${s.url.split('?')[0]}`),
      ['POST /v1/jobs', 'POST /v1/jobs', 'GET /v1/jobs/j-1/wait', 'GET /v1/jobs/j-1/wait'],
    );
  });

  it('does not retry a 503 without Retry-After (the scheduler’s verdict, e.g. worker_down)', async () => {
    const { address, seen } = await busyServer([{ status: 503, body: { error: 'worker w-1 is down', code: 'worker_down' } }]);
    await assert.rejects(new BatonClient({ address }).submitJob({ command: 'true', worker_id: 'w-1' }), (e: unknown) => e instanceof BatonApiError && e.code === 'worker_down');
    assert.equal(seen.length, 1);
  });

  it('does not wait for a Retry-After longer than maxRetryDelayMs', async () => {
    const { address, seen } = await busyServer([{ status: 429, headers: { 'retry-after': '3600' }, body: QUEUE_FULL }]);
    await assert.rejects(new BatonClient({ address }).submitJob({ command: 'true' }), (e: unknown) => e instanceof BatonApiError && e.status === 429);
    assert.equal(seen.length, 1);
  });

  it('does not retry a 429 for failed authentications (rate_limited): waiting does not mend a token', async () => {
    const { address, seen } = await busyServer([
      { status: 429, headers: { 'retry-after': '1' }, body: { error: 'too many failed authentication attempts', code: 'rate_limited' } },
    ]);
    await assert.rejects(new BatonClient({ address, token: 'baton_wrong' }).listWorkers(), (e: unknown) => e instanceof BatonApiError && e.code === 'rate_limited');
    assert.equal(seen.length, 1);
  });

  it('does not retry other errors', async () => {
    const { address, seen } = await busyServer([{ status: 500, headers: { 'retry-after': '0' }, body: { error: 'boom', code: 'internal' } }]);
    await assert.rejects(new BatonClient({ address }).health(), (e: unknown) => e instanceof BatonApiError && e.status === 500);
    assert.equal(seen.length, 1);
  });

  it('stops waiting when the call is aborted', async () => {
    const { address, seen } = await busyServer([{ status: 503, headers: { 'retry-after': '20' }, body: NOT_NOW }]);
    const controller = new AbortController();
    const call = new BatonClient({ address }).health({ signal: controller.signal });
    while (seen.length === 0) await new Promise((r) => setTimeout(r, 10));
    controller.abort();
    await assert.rejects(call, (e: unknown) => e instanceof Error && e.name === 'AbortError');
    assert.equal(seen.length, 1);
  });
});
