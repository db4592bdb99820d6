// Many readers of one job: the worker serves it once, and a reader that stops reading holds nobody up.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { eventually, startScheduler, startWorker, type SchedulerHandle, type WorkerHandle } from './harness.js';

const FOLLOWERS = 50;
/** Lines of `seq 1 LINES`: about 61 MiB, far more than a hub keeps (8 MiB) and any socket buffers hold. */
const LINES = 8_000_000;

/** A follower: everything it has received, and whether its answer has ended. */
interface Follower {
  text: string;
  ended: Promise<void>;
  done: boolean;
  response: http.IncomingMessage;
}

function follow(url: string): Promise<Follower> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        res.setEncoding('utf8');
        const f: Follower = { text: '', done: false, response: res, ended: new Promise((r) => res.on('end', r)) };
        void f.ended.then(() => (f.done = true));
        res.on('data', (chunk: string) => (f.text += chunk));
        res.on('error', reject);
        resolve(f);
      })
      .on('error', reject);
  });
}

/** Reads `res` to its end, checking it is `seq 1 LINES` exactly (every line once, in order) without holding it all. */
function readSeq(res: http.IncomingMessage): Promise<number> {
  return new Promise((resolve, reject) => {
    let next = 1;
    let partial = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        if (line !== String(next)) {
          reject(new Error(`line ${next} read as "${line}"`));
          res.destroy();
          return;
        }
        next++;
      }
    });
    res.on('end', () => (partial === '' ? resolve(next - 1) : reject(new Error(`ends with a partial line "${partial}"`))));
    res.on('error', reject);
    res.resume();
  });
}

/** Bytes of `seq 1 n`'s output. */
function seqBytes(n: number): number {
  let bytes = 0;
  for (let digits = 1, low = 1; low <= n; digits++, low *= 10) bytes += (Math.min(n, low * 10 - 1) - low + 1) * (digits + 1);
  return bytes;
}

function metric(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

describe('output fan-out', () => {
  let scheduler: SchedulerHandle;
  let worker: WorkerHandle;
  let metricsUrl: string;

  before(async () => {
    scheduler = await startScheduler();
    worker = await startWorker(scheduler, { args: ['--metrics', '127.0.0.1:0'] });
    metricsUrl = `http://${String((await worker.waitForLog((l) => l.msg === 'worker ready')).metrics)}/metrics`;
  });
  after(() => Promise.all([worker.kill(), scheduler.kill()]));

  async function submit(script: string): Promise<string> {
    const res = await fetch(`${scheduler.api}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ worker_id: worker.id, command: 'bash', args: ['-c', script] }),
    });
    assert.equal(res.status, 201);
    return String(((await res.json()) as { id: string }).id);
  }

  it(`${FOLLOWERS} followers of a quiet job, from its start, an offset and its tail, cost its worker one stream`, async () => {
    const id = await submit('echo one; echo two; echo three; exec sleep 600');
    const url = `${scheduler.api}/v1/jobs/${id}/output?follow=true`;
    const whole = 'one\ntwo\nthree\n';
    await eventually(async () => ((await fetch(`${scheduler.api}/v1/jobs/${id}/output`).then((r) => r.text())) === whole ? true : undefined), 'the three lines written');
    const fromStart = await Promise.all(Array.from({ length: FOLLOWERS - 2 }, () => follow(url)));
    const fromOffset = await follow(`${url}&offset=4`);
    const fromTail = await follow(`${url}&tail=1`);
    assert.equal(fromOffset.response.headers['baton-offset'], '4');
    assert.equal(fromTail.response.headers['baton-offset'], '8');
    const all = [...fromStart, fromOffset, fromTail];
    await eventually(
      async () => (fromStart.every((f) => f.text === whole) && fromOffset.text === 'two\nthree\n' && fromTail.text === 'three\n' ? true : undefined),
      'every follower has the output so far',
    );
    // The tail was found with a short read of its own; once that is over, one stream serves all of them.
    const streams = await eventually(async () => {
      const n = metric(await fetch(metricsUrl).then((r) => r.text()), 'baton_worker_output_streams');
      return n === 1 ? n : undefined;
    }, 'the worker serving one output stream');
    assert.equal(streams, 1);
    assert.ok(
      all.every((f) => !f.done),
      'every follower is still following',
    );

    const stop = await fetch(`${scheduler.api}/v1/jobs/${id}/stop`, { method: 'POST' });
    assert.equal(stop.status, 200);
    await Promise.all(all.map((f) => f.ended));
    for (const f of fromStart) assert.equal(f.text, whole);
    assert.equal(fromOffset.text, 'two\nthree\n');
    assert.equal(fromTail.text, 'three\n');
  });

  it('a follower that stops reading holds up no other, and later still gets every byte once, in order', async () => {
    const id = await submit(`seq 1 ${LINES}`);
    const url = `${scheduler.api}/v1/jobs/${id}/output?follow=true`;
    const stalled = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http
        .get(url, (res) => {
          res.pause(); // reads nothing until the others are done
          resolve(res);
        })
        .on('error', reject);
    });
    const others = await Promise.all(
      Array.from(
        { length: 3 },
        () =>
          new Promise<number>((resolve, reject) => {
            http.get(url, (res) => readSeq(res).then(resolve, reject)).on('error', reject);
          }),
      ),
    );
    assert.deepEqual(others, [LINES, LINES, LINES]);
    // The copy into the store waits for the attempt's live readers, but not for one that reads nothing.
    const kept = await scheduler.waitForLog((l) => l.msg === 'job output kept' && l.job_id === id);
    assert.equal(kept.output_bytes, seqBytes(LINES));
    assert.equal(await readSeq(stalled), LINES);
  });

  it('a follower reading a large output slowly does not keep it from being copied into the store', async () => {
    const bytes = 64 * 1024 * 1024;
    const id = await submit(`head -c ${bytes} /dev/zero`);
    const slow = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get(`${scheduler.api}/v1/jobs/${id}/output?follow=true`, resolve).on('error', reject);
    });
    slow.pause();
    // What its buffers hold, every 20 ms: often enough that its hub never counts it idle.
    let read = 0;
    const pace = setInterval(() => {
      read += (slow.read() as Buffer | null)?.length ?? 0;
    }, 20);
    try {
      const kept = await scheduler.waitForLog((l) => l.msg === 'job output kept' && l.job_id === id);
      assert.equal(kept.output_bytes, bytes);
      assert.ok(read < bytes / 2, `kept only after the follower read ${read} bytes`);
    } finally {
      clearInterval(pace);
      slow.destroy();
    }
  });
});
