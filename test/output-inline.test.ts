// Small outputs travel in the end report: kept in the end's commit with no StreamJob copy, so a
// burst of short jobs is kept whole even though the worker is SIGKILLed right after it; a larger
// output is still copied.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { END_OUTPUT_MAX_BYTES } from '../src/worker/end-output.js';
import { startScheduler, startWorker, waitForFinal } from './harness.js';

type Json = Record<string, unknown>;

const BURST = 3000;
/** Most jobs per POST /v1/jobs/batch. */
const BATCH = 1000;

async function submitBatch(api: string, jobs: Json[]): Promise<string[]> {
  const res = await fetch(`${api}/v1/jobs/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jobs }) });
  const json = (await res.json()) as { jobs: Json[] };
  assert.equal(res.status, 201, JSON.stringify(json).slice(0, 300));
  return json.jobs.map((j) => String(j.id));
}

async function read(api: string, id: string, query = ''): Promise<{ status: number; text: string }> {
  const res = await fetch(`${api}/v1/jobs/${id}/output${query}`);
  return { status: res.status, text: await res.text() };
}

describe('small outputs in the end report', () => {
  it(`a burst of ${BURST} short jobs, then the worker SIGKILLed: every output reads back from the store; one just over the bound is copied`, async () => {
    const scheduler = await startScheduler();
    const worker = await startWorker(scheduler);
    const ids: string[] = [];
    for (let from = 0; from < BURST; from += BATCH) {
      const jobs = Array.from({ length: Math.min(BATCH, BURST - from) }, (_, i) => ({ worker_id: worker.id, command: 'echo', args: [`line ${from + i}`] }));
      ids.push(...(await submitBatch(scheduler.api, jobs)));
    }
    // Both streams, so the runs record travels too.
    const both = (await submitBatch(scheduler.api, [{ worker_id: worker.id, command: 'bash', args: ['-c', 'echo to-out; echo to-err >&2; echo out-again'] }]))[0]!;
    // One byte over the bound: copied with StreamJob as before.
    const over = END_OUTPUT_MAX_BYTES + 1;
    const big = (await submitBatch(scheduler.api, [{ worker_id: worker.id, command: 'bash', args: ['-c', `head -c ${over} /dev/zero | tr "\\0" x`] }]))[0]!;
    // At most the bound: sent whole.
    const atBound = (await submitBatch(scheduler.api, [{ worker_id: worker.id, command: 'bash', args: ['-c', `head -c ${END_OUTPUT_MAX_BYTES} /dev/zero | tr "\\0" y`] }]))[0]!;
    for (const id of [...ids, both, big, atBound]) assert.equal((await waitForFinal(scheduler.api, id, 600_000)).state, 'succeeded', id);
    await scheduler.waitForLog((l) => l.msg === 'job output kept' && l.job_id === big);
    await worker.kill('SIGKILL');

    for (const [i, id] of ids.entries()) assert.deepEqual(await read(scheduler.api, id), { status: 200, text: `line ${i}\n` }, id);
    // Interleaved, the order between the two streams is a race of two pipes; within each, as written.
    const all = await read(scheduler.api, both);
    assert.equal(all.status, 200);
    assert.deepEqual(all.text.split('\n').sort(), ['', 'out-again', 'to-err', 'to-out']);
    assert.deepEqual(await read(scheduler.api, both, '?stream=stdout'), { status: 200, text: 'to-out\nout-again\n' });
    assert.deepEqual(await read(scheduler.api, both, '?stream=stderr'), { status: 200, text: 'to-err\n' });
    assert.deepEqual(await read(scheduler.api, big), { status: 200, text: 'x'.repeat(over) });
    assert.deepEqual(await read(scheduler.api, atBound), { status: 200, text: 'y'.repeat(END_OUTPUT_MAX_BYTES) });
    // Every copy logs a line once kept: only the one over the bound was copied.
    const copied = scheduler.logs.filter((l) => l.msg === 'job output kept').map((l) => l.job_id);
    assert.deepEqual(copied, [big]);
  });
});
