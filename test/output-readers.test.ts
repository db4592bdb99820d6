// Readers of a large output: GET /v1/jobs/:id/output honours one HTTP Range of bytes (RFC 9110),
// for a running job's output (read from its worker) and for a finished one's (read from the
// scheduler's copy); ?download=true answers it as a file; /output/search finds lines in it
// (or in one of its streams).
import path from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { submitJob, startScheduler, startWorker, eventually, waitForFinal } from './harness.js';

type Json = Record<string, unknown>;

interface Answer {
  status: number;
  text: string;
  range: string | null;
  offset: string | null;
  acceptRanges: string | null;
}

async function get(api: string, path: string, range?: string): Promise<Answer> {
  const res = await fetch(`${api}${path}`, { headers: range === undefined ? {} : { range } });
  return {
    status: res.status,
    text: await res.text(),
    range: res.headers.get('content-range'),
    offset: res.headers.get('baton-offset'),
    acceptRanges: res.headers.get('accept-ranges'),
  };
}

/** The answers every output must give to ranges, `whole` being its bytes now. */
async function checkRanges(api: string, path: string, whole: string): Promise<void> {
  const size = whole.length;
  const partial = async (range: string, start: number, end: number): Promise<void> => {
    const res = await get(api, path, range);
    assert.deepEqual(res, { status: 206, text: whole.slice(start, end), range: `bytes ${start}-${end - 1}/${size}`, offset: String(start), acceptRanges: 'bytes' }, range);
  };
  await partial('bytes=0-9', 0, 10);
  await partial('bytes=5-5', 5, 6);
  await partial('bytes=100-', 100, size);
  await partial('bytes=-20', size - 20, size);
  await partial(`bytes=-${size * 2}`, 0, size);
  await partial(`bytes=${size - 3}-${size * 2}`, size - 3, size);

  for (const range of [`bytes=${size}-`, `bytes=${size + 10}-${size + 20}`, 'bytes=-0']) {
    const res = await get(api, path, range);
    assert.equal(res.status, 416, range);
    assert.equal(res.range, `bytes */${size}`, range);
    assert.equal((JSON.parse(res.text) as Json).code, 'range_not_satisfiable', res.text);
  }
  for (const range of ['bytes=0-1,5-6', 'bytes=9-5', 'bytes=x-', 'bytes', 'bytes=-']) {
    const res = await get(api, path, range);
    assert.equal(res.status, 400, range);
    assert.equal((JSON.parse(res.text) as Json).code, 'bad_request', res.text);
  }
  const sep = path.includes('?') ? '&' : '?';
  for (const query of ['offset=3', 'tail=2', 'follow=true']) {
    const res = await get(api, `${path}${sep}${query}`, 'bytes=0-9');
    assert.equal(res.status, 400, query);
    assert.match(res.text, /without offset, tail or follow/);
  }
  // Another unit is ignored, as RFC 9110 requires: the whole output.
  assert.deepEqual(await get(api, path, 'lines=1-2'), { status: 200, text: whole, range: null, offset: '0', acceptRanges: 'bytes' });
}

describe('Range on job output', () => {
  it("a finished job's kept output, also once its worker is gone", async () => {
    const scheduler = await startScheduler();
    const worker = await startWorker(scheduler);
    const id = await submitJob(scheduler.api, { worker_id: worker.id, command: 'seq', args: ['1', '100000'] });
    await waitForFinal(scheduler.api, id);
    await scheduler.waitForLog((l) => l.msg === 'job output kept' && l.job_id === id);
    const path = `/v1/jobs/${id}/output`;
    const whole = await get(scheduler.api, path);
    assert.equal(whole.status, 200);
    assert.equal(whole.acceptRanges, 'bytes');
    await checkRanges(scheduler.api, path, whole.text);
    await worker.kill('SIGKILL');
    await checkRanges(scheduler.api, `${path}?attempt=1`, whole.text);
  });

  it("a running job's output, read from its worker", async () => {
    const scheduler = await startScheduler();
    const worker = await startWorker(scheduler);
    const id = await submitJob(scheduler.api, { worker_id: worker.id, command: 'bash', args: ['-c', 'seq 1 50000; echo last; sleep 60'] });
    const path = `/v1/jobs/${id}/output`;
    const whole = await eventually(async () => {
      const res = await get(scheduler.api, path);
      return res.text.endsWith('last\n') ? res.text : undefined;
    }, 'the running job wrote its lines');
    await checkRanges(scheduler.api, path, whole);
  });

  it('a kept output that reads short of its size breaks the answer off, visibly, and says so in the log', async () => {
    const scheduler = await startScheduler();
    const worker = await startWorker(scheduler);
    const id = await submitJob(scheduler.api, { worker_id: worker.id, command: 'seq', args: ['1', '100000'] });
    await waitForFinal(scheduler.api, id);
    await scheduler.waitForLog((l) => l.msg === 'job output kept' && l.job_id === id);
    const size = (await get(scheduler.api, `/v1/jobs/${id}/output`)).text.length;
    // The pieces after the first go (as a prune running under the reader would take them): the record still says `size`.
    const db = new Database(path.join(scheduler.dataDir, 'baton.db'));
    try {
      assert.ok(db.prepare('delete from output_chunks where job_id = ? and start > 0').run(id).changes > 0, 'the output was kept in several pieces');
    } finally {
      db.close();
    }
    for (const range of [`bytes=100-${size - 1}`, null]) {
      const res = await fetch(`${scheduler.api}/v1/jobs/${id}/output`, { headers: range === null ? {} : { range } });
      assert.equal(res.status, range === null ? 200 : 206);
      await assert.rejects(res.text(), 'the client sees the transfer cut, not a short whole answer');
    }
    await scheduler.waitForLog((l) => l.msg === 'kept job output ended short of its size; the answer is broken off' && l.job_id === id);
  });

  it('an empty output has no byte to send: 416 names its size, 0', async () => {
    const scheduler = await startScheduler();
    const worker = await startWorker(scheduler);
    const id = await submitJob(scheduler.api, { worker_id: worker.id, command: 'true' });
    await waitForFinal(scheduler.api, id);
    const res = await get(scheduler.api, `/v1/jobs/${id}/output`, 'bytes=-100');
    assert.equal(res.status, 416);
    assert.equal(res.range, 'bytes */0');
  });
});

describe('search and download', () => {
  it('finds the lines that hold a text, with their first byte and number, up to the limit, in kept and live output', async () => {
    const scheduler = await startScheduler();
    const worker = await startWorker(scheduler);
    const done = await submitJob(scheduler.api, { worker_id: worker.id, command: 'seq', args: ['1', '100000'] });
    await waitForFinal(scheduler.api, done);
    await scheduler.waitForLog((l) => l.msg === 'job output kept' && l.job_id === done);
    const whole = (await get(scheduler.api, `/v1/jobs/${done}/output`)).text;
    const search = async (job: string, query: string): Promise<Json> => {
      const res = await fetch(`${scheduler.api}/v1/jobs/${job}/output/search?${query}`);
      const json = (await res.json()) as Json;
      assert.equal(res.status, 200, JSON.stringify(json));
      return json;
    };
    assert.deepEqual(await search(done, 'q=99999'), {
      attempt: 1,
      matches: [{ offset: whole.indexOf('\n99999\n') + 1, line: 99999, text: '99999' }],
      more: false,
      bytes_searched: whole.length,
    });
    const limited = await search(done, 'q=7&limit=3');
    assert.deepEqual(limited.matches, [
      { offset: 12, line: 7, text: '7' },
      { offset: 39, line: 17, text: '17' },
      { offset: 69, line: 27, text: '27' },
    ]);
    assert.equal(limited.more, true);
    assert.equal((await fetch(`${scheduler.api}/v1/jobs/${done}/output/search`)).status, 400, 'q is required');
    assert.equal((await fetch(`${scheduler.api}/v1/jobs/${done}/output/search?q=1&limit=5000`)).status, 400, 'the limit has a bound');

    const running = await submitJob(scheduler.api, { worker_id: worker.id, command: 'bash', args: ['-c', 'seq 1 5000; echo needle here; sleep 60'] });
    const found = await eventually(async () => {
      const json = await search(running, 'q=needle');
      return (json.matches as unknown[]).length > 0 ? json : undefined;
    }, 'the running job wrote the needle');
    assert.deepEqual(found.matches, [{ offset: whole.indexOf('5001\n'), line: 5001, text: 'needle here' }]);
  });

  it('finds a text across the 1 MiB pieces a kept output is read in, in a line longer than the 1 MiB one held', async () => {
    const MiB = 1024 * 1024;
    const scheduler = await startScheduler();
    const worker = await startWorker(scheduler);
    // One line of 3 MiB with 'needle' over its byte 1048576, then a short one.
    const script = `head -c ${MiB - 3} /dev/zero | tr '\\0' y; printf needle; head -c ${2 * MiB} /dev/zero | tr '\\0' y; printf '\\nend needle\\n'`;
    const id = await submitJob(scheduler.api, { worker_id: worker.id, command: 'bash', args: ['-c', script] });
    await waitForFinal(scheduler.api, id);
    await scheduler.waitForLog((l) => l.msg === 'job output kept' && l.job_id === id);
    const res = await fetch(`${scheduler.api}/v1/jobs/${id}/output/search?q=needle`);
    assert.deepEqual(await res.json(), {
      attempt: 1,
      matches: [
        { offset: 0, line: 1, text: 'y'.repeat(500) },
        { offset: 3 * MiB + 4, line: 2, text: 'end needle' },
      ],
      more: false,
      bytes_searched: 3 * MiB + 15,
    });
  });

  it('?stream= searches stdout or stderr alone, numbers and bytes counted in it, in live and kept output', async () => {
    const scheduler = await startScheduler();
    const worker = await startWorker(scheduler);
    const search = async (job: string, query: string): Promise<Json> => {
      const res = await fetch(`${scheduler.api}/v1/jobs/${job}/output/search?${query}`);
      const json = (await res.json()) as Json;
      assert.equal(res.status, 200, JSON.stringify(json));
      return json;
    };
    const write = 'echo out one; echo err needle >&2; echo out needle; echo err two >&2';
    const expect = async (job: string): Promise<void> => {
      assert.deepEqual((await search(job, 'q=needle&stream=stdout')).matches, [{ offset: 8, line: 2, text: 'out needle' }]);
      assert.deepEqual((await search(job, 'q=needle&stream=stderr')).matches, [{ offset: 0, line: 1, text: 'err needle' }]);
      assert.deepEqual((await search(job, 'q=two&stream=stdout')).matches, []);
      // Both streams: their order in the output is the order the worker read them in.
      const both = (await search(job, 'q=needle')).matches as Json[];
      assert.deepEqual(both.map((m) => m.text).sort(), ['err needle', 'out needle']);
    };
    const running = await submitJob(scheduler.api, { worker_id: worker.id, command: 'bash', args: ['-c', `${write}; sleep 60`] });
    // Its last line written to stdout is before its last to stderr, but the two pipes may be read in either order.
    const wrote = async (q: string, stream: string): Promise<boolean> => ((await search(running, `q=${q}&stream=${stream}`)).matches as unknown[]).length > 0;
    await eventually(async () => ((await wrote('needle', 'stdout')) && (await wrote('two', 'stderr'))) || undefined, 'the running job wrote its lines');
    await expect(running);
    const done = await submitJob(scheduler.api, { worker_id: worker.id, command: 'bash', args: ['-c', write] });
    await waitForFinal(scheduler.api, done);
    // Its worker gone, the output is read from the scheduler's copy (kept with the end report).
    await worker.kill('SIGTERM');
    await eventually(async () => (await fetch(`${scheduler.api}/v1/jobs/${done}/output/search?q=x`)).ok || undefined, 'the output kept');
    await expect(done);
    assert.equal((await fetch(`${scheduler.api}/v1/jobs/${done}/output/search?q=x&stream=both`)).status, 400, 'a stream is stdout or stderr');
  });

  it('?download=true answers the whole output as a file', async () => {
    const scheduler = await startScheduler();
    const worker = await startWorker(scheduler);
    const id = await submitJob(scheduler.api, { worker_id: worker.id, command: 'seq', args: ['1', '1000'] });
    await waitForFinal(scheduler.api, id);
    const res = await fetch(`${scheduler.api}/v1/jobs/${id}/output?download=true`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-disposition'), `attachment; filename="job-${id}-attempt-1.log"`);
    assert.equal(await res.text(), `${Array.from({ length: 1000 }, (_, i) => i + 1).join('\n')}\n`);
  });
});
