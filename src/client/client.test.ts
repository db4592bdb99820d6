// Pure parts of the client, and its request/response handling against a fake fetch.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BatonClient, normalizeAddress, queryString } from './client.js';
import { BatonApiError, BatonConnectionError, describeNetworkError } from './errors.js';

function sysError(code: string): Error {
  return Object.assign(new Error(`connect ${code}`), { code });
}

describe('normalizeAddress', () => {
  for (const [input, expected] of [
    ['http://127.0.0.1:7070', 'http://127.0.0.1:7070'],
    ['http://127.0.0.1:7070/', 'http://127.0.0.1:7070'],
    ['127.0.0.1:7070', 'http://127.0.0.1:7070'],
    ['localhost:80', 'http://localhost:80'],
    ['https://baton.example.com', 'https://baton.example.com'],
    [' http://h:1// ', 'http://h:1'],
  ] as const) {
    it(`${JSON.stringify(input)} → ${expected}`, () => assert.equal(normalizeAddress(input), expected));
  }
  it('refuses other schemes', () => assert.throws(() => normalizeAddress('ftp://h:1'), /not an HTTP address/));
});

describe('queryString', () => {
  for (const [params, expected] of [
    [{}, ''],
    [{ state: undefined }, ''],
    [{ state: 'running', limit: 10 }, '?state=running&limit=10'],
    [{ worker_id: 'a b&c' }, '?worker_id=a+b%26c'],
    [{ follow: true }, '?follow=true'],
  ] as const) {
    it(`${JSON.stringify(params)} → ${JSON.stringify(expected)}`, () => assert.equal(queryString(params), expected));
  }
});

describe('describeNetworkError', () => {
  const fetchFailed = (cause: unknown): Error => new TypeError('fetch failed', { cause });
  for (const [name, err, expected] of [
    ['refused', fetchFailed(sysError('ECONNREFUSED')), 'connection refused'],
    ['refused on every address', fetchFailed(new AggregateError([sysError('ECONNREFUSED'), sysError('ECONNREFUSED')])), 'connection refused'],
    ['unknown host', fetchFailed(sysError('ENOTFOUND')), 'host not found'],
    ['connect timeout', fetchFailed(sysError('UND_ERR_CONNECT_TIMEOUT')), 'connection timed out'],
    ['unknown code, message of the cause', fetchFailed(new Error('something odd')), 'something odd'],
    ['plain error', new Error('boom'), 'boom'],
  ] as const) {
    it(name, () => assert.equal(describeNetworkError(err), expected));
  }
});

interface Call {
  url: string;
  init: RequestInit;
}

function fakeFetch(answer: (call: Call, n: number) => Response | Promise<Response>): { fetch: typeof fetch; calls: Call[] } {
  const calls: Call[] = [];
  const fn = (async (url: string | URL | Request, init: RequestInit = {}) => {
    const call = { url: String(url), init };
    calls.push(call);
    return answer(call, calls.length);
  }) as typeof fetch;
  return { fetch: fn, calls };
}

const json = (status: number, body: unknown): Response => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('BatonClient requests', () => {
  it('sends JSON, the bearer token, and decodes the answer', async () => {
    const { fetch, calls } = fakeFetch(() => json(201, { id: 'j1', state: 'dispatched' }));
    const client = new BatonClient({ address: '127.0.0.1:9', token: 's3cret', fetch });
    const job = await client.submitJob({ worker_id: 'w', command: 'echo', args: ['hi'] });
    assert.equal(job.id, 'j1');
    assert.equal(calls[0]!.url, 'http://127.0.0.1:9/v1/jobs');
    assert.equal(calls[0]!.init.method, 'POST');
    const headers = calls[0]!.init.headers as Record<string, string>;
    assert.equal(headers.authorization, 'Bearer s3cret');
    assert.equal(headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(String(calls[0]!.init.body)), { worker_id: 'w', command: 'echo', args: ['hi'] });
  });

  it('sends no Authorization header without a token', async () => {
    const { fetch, calls } = fakeFetch(() => json(200, { status: 'ok' }));
    await new BatonClient({ fetch }).health();
    assert.equal(calls[0]!.url, 'http://127.0.0.1:7070/healthz');
    assert.equal((calls[0]!.init.headers as Record<string, string>).authorization, undefined);
  });

  it('encodes ids and list filters into the path', async () => {
    const { fetch, calls } = fakeFetch(() => json(200, { jobs: [], next_cursor: null }));
    const client = new BatonClient({ fetch });
    await client.listJobs({ state: 'running', worker_id: 'w/1', limit: 5 });
    assert.equal(calls[0]!.url, 'http://127.0.0.1:7070/v1/jobs?state=running&worker_id=w%2F1&limit=5');
    await client.stopJob('a/b', { graceMs: 250 }).catch(() => undefined);
    assert.equal(calls[1]!.url, 'http://127.0.0.1:7070/v1/jobs/a%2Fb/stop');
    assert.deepEqual(JSON.parse(String(calls[1]!.init.body)), { grace: 0.25 });
  });

  it('turns an error status into BatonApiError with the scheduler message', async () => {
    const { fetch } = fakeFetch(() => json(404, { error: 'job "x" not found' }));
    const err = await new BatonClient({ fetch }).getJob('x').catch((e: unknown) => e);
    assert.ok(err instanceof BatonApiError);
    assert.equal(err.status, 404);
    assert.equal(err.message, 'job "x" not found');
    assert.equal(err.method, 'GET');
    assert.equal(err.path, '/v1/jobs/x');
  });

  it('keeps the status text when the error body is not JSON', async () => {
    const { fetch } = fakeFetch(() => new Response('<html>bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }));
    const err = await new BatonClient({ fetch }).listWorkers().catch((e: unknown) => e);
    assert.ok(err instanceof BatonApiError);
    assert.equal(err.status, 502);
    assert.equal(err.message, 'Bad Gateway');
  });

  it('turns a network failure into BatonConnectionError', async () => {
    const fetch = (async () => {
      throw new TypeError('fetch failed', { cause: sysError('ECONNREFUSED') });
    }) as typeof globalThis.fetch;
    const err = await new BatonClient({ fetch }).health().catch((e: unknown) => e);
    assert.ok(err instanceof BatonConnectionError);
    assert.equal(err.message, 'cannot reach the scheduler at http://127.0.0.1:7070 (connection refused): is `baton scheduler` running?');
  });

  it('rejects with the abort reason, not a connection error, when aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const fetch = (async (_u: unknown, init?: RequestInit) => {
      init?.signal?.throwIfAborted();
      return json(200, {});
    }) as typeof globalThis.fetch;
    const err = await new BatonClient({ fetch }).health({ signal: controller.signal }).catch((e: unknown) => e);
    assert.ok(err instanceof Error);
    assert.equal(err.name, 'AbortError');
  });

  it('iterates every page of jobs, passing the cursor on', async () => {
    const pages = [
      { jobs: [{ id: '3' }, { id: '2' }], next_cursor: 'c1' },
      { jobs: [{ id: '1' }], next_cursor: null },
    ];
    const { fetch, calls } = fakeFetch((_c, n) => json(200, pages[n - 1]));
    const ids: string[] = [];
    for await (const job of new BatonClient({ fetch }).allJobs({ limit: 2 })) ids.push(job.id);
    assert.deepEqual(ids, ['3', '2', '1']);
    assert.deepEqual(
      calls.map((c) => new URL(c.url).search),
      ['?limit=2', '?limit=2&cursor=c1'],
    );
  });
});

describe('BatonClient output', () => {
  const enc = new TextEncoder();
  const dec = new TextDecoder();

  function body(chunks: string[], failWith?: unknown): ReadableStream<Uint8Array> {
    // One chunk per pull, so the chunks reach the reader before the error does.
    let i = 0;
    return new ReadableStream({
      pull(controller) {
        if (i < chunks.length) controller.enqueue(enc.encode(chunks[i++]!));
        else if (failWith) controller.error(failWith);
        else controller.close();
      },
    });
  }

  it('yields the body as chunks and asks for follow', async () => {
    const { fetch, calls } = fakeFetch(() => new Response(body(['a', 'bc'])));
    const chunks: string[] = [];
    for await (const c of new BatonClient({ fetch }).output('j', { follow: true })) chunks.push(dec.decode(c));
    assert.deepEqual(chunks, ['a', 'bc']);
    assert.equal(calls[0]!.url, 'http://127.0.0.1:7070/v1/jobs/j/output?follow=true');
  });

  const attemptOne = { 'baton-attempt': '1' };
  const search = (c: Call): string => new URL(c.url).search;

  it('resumes a followed stream after a body timeout from the byte reached, of the same attempt', async () => {
    const timeout = new TypeError('terminated', { cause: Object.assign(new Error('Body Timeout Error'), { code: 'UND_ERR_BODY_TIMEOUT' }) });
    const { fetch, calls } = fakeFetch((_c, n) => new Response(n === 1 ? body(['abc', 'de'], timeout) : body(['fgh']), { headers: attemptOne }));
    let text = '';
    for await (const c of new BatonClient({ fetch }).output('j', { follow: true })) text += dec.decode(c);
    assert.equal(text, 'abcdefgh');
    assert.deepEqual(calls.map(search), ['?follow=true', '?follow=true&attempt=1&offset=5']);
  });

  it('a followed tail resumes from the byte its first answer started at (Baton-Offset), not asking for the tail again', async () => {
    const reset = new TypeError('terminated', { cause: sysError('ECONNRESET') });
    const { fetch, calls } = fakeFetch((_c, n) =>
      n === 1 ? new Response(body(['99\n', '10'], reset), { headers: { ...attemptOne, 'baton-offset': '1000' } }) : new Response(body(['0\n']), { headers: attemptOne }),
    );
    let text = '';
    for await (const c of new BatonClient({ fetch }).output('j', { follow: true, tail: 2 })) text += dec.decode(c);
    assert.equal(text, '99\n100\n');
    assert.deepEqual(calls.map(search), ['?follow=true&tail=2', '?follow=true&attempt=1&offset=1005']);
  });

  it('a stream cut off while the worker restarts: retried past 503s until it is back, then the rest once', async () => {
    const reset = new TypeError('terminated', { cause: sysError('ECONNRESET') });
    const down = json(503, { error: 'worker w is not connected', code: 'worker_down' });
    const running = json(200, { id: 'j', state: 'unknown', attempt: 1 });
    const { fetch, calls } = fakeFetch((c, n) => {
      if (c.url.endsWith('/v1/jobs/j')) return running;
      if (n === 1) return new Response(body(['line 1\n', 'li'], reset), { headers: attemptOne });
      if (n < 6) return down.clone();
      return new Response(body(['ne 2\n']), { headers: attemptOne });
    });
    const breaks: number[] = [];
    let text = '';
    for await (const c of new BatonClient({ fetch }).output('j', { follow: true, onReconnecting: (_e, offset) => breaks.push(offset) })) text += dec.decode(c);
    assert.equal(text, 'line 1\nline 2\n');
    assert.deepEqual(breaks, [9]);
    const reopens = calls.filter((c) => c.url.includes('/output')).map(search);
    assert.deepEqual(new Set(reopens.slice(1)), new Set(['?follow=true&attempt=1&offset=9']));
    assert.ok(
      calls.some((c) => c.url.endsWith('/v1/jobs/j')),
      'asked whether the attempt still runs',
    );
  });

  it('gives up with the error once the attempt is over and its output still unreadable', async () => {
    const reset = new TypeError('terminated', { cause: sysError('ECONNRESET') });
    const { fetch } = fakeFetch((c, n) => {
      if (c.url.endsWith('/v1/jobs/j')) return json(200, { id: 'j', state: 'running', attempt: 2 }); // attempt 1 lost, retried
      if (n === 1) return new Response(body(['abc'], reset), { headers: attemptOne });
      return json(503, { error: 'worker w is not connected', code: 'worker_down' });
    });
    const seen: string[] = [];
    const err = await (async () => {
      for await (const c of new BatonClient({ fetch }).output('j', { follow: true })) seen.push(dec.decode(c));
    })().catch((e: unknown) => e);
    assert.deepEqual(seen, ['abc']);
    assert.ok(err instanceof BatonApiError);
    assert.equal(err.code, 'worker_down');
  });

  it('an answer that is not about reaching the worker (404) ends a followed stream at once', async () => {
    const reset = new TypeError('terminated', { cause: sysError('ECONNRESET') });
    const { fetch, calls } = fakeFetch((_c, n) => (n === 1 ? new Response(body(['abc'], reset), { headers: attemptOne }) : json(404, { error: 'job "j" not found' })));
    const err = await (async () => {
      for await (const _ of new BatonClient({ fetch }).output('j', { follow: true }));
    })().catch((e: unknown) => e);
    assert.ok(err instanceof BatonApiError);
    assert.equal(err.status, 404);
    assert.equal(calls.length, 2);
  });

  it('a stream of the original API resumes with offset and attempt in its body', async () => {
    const reset = new TypeError('terminated', { cause: sysError('ECONNRESET') });
    const { fetch, calls } = fakeFetch((_c, n) => new Response(n === 1 ? body(['abc'], reset) : body(['def']), { headers: attemptOne }));
    let text = '';
    for await (const c of new BatonClient({ fetch }).stream({ worker_id: 'w', job_id: 'j' })) text += dec.decode(c);
    assert.equal(text, 'abcdef');
    assert.deepEqual(
      calls.map((c) => JSON.parse(String(c.init.body))),
      [
        { worker_id: 'w', job_id: 'j' },
        { worker_id: 'w', job_id: 'j', offset: 3, attempt: 1 },
      ],
    );
  });

  it('a stream that is not followed is not asked for again', async () => {
    const reset = new TypeError('terminated', { cause: sysError('ECONNRESET') });
    const { fetch, calls } = fakeFetch(() => new Response(body(['abc'], reset)));
    const err = await new BatonClient({ fetch }).outputText('j').catch((e: unknown) => e);
    assert.ok(err instanceof BatonConnectionError);
    assert.match(err.message, /connection reset/);
    assert.equal(calls.length, 1);
  });

  it('surfaces a 404 on the first iteration', async () => {
    const { fetch } = fakeFetch(() => json(404, { error: 'job "j" not found' }));
    const err = await new BatonClient({ fetch }).outputText('j').catch((e: unknown) => e);
    assert.ok(err instanceof BatonApiError);
    assert.equal(err.status, 404);
  });
});
