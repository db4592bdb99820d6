// The output cap holds as written: a job writing fast past a small cap leaves at most the cap
// plus the marker line on disk, with the head and the tail of what it wrote.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import path from 'node:path';
import { startScheduler, startWorker, waitForFinal } from './harness.js';

type Json = Record<string, unknown>;

const CAP = 1024 * 1024;
/** CAP_SLACK_BYTES in src/worker/output-files.ts: the marker line. */
const SLACK = 200;
const TAIL = CAP / 4;

describe('output cap', () => {
  it('a job writing 100 MB past a 1 MiB cap: never more than cap + marker on disk, head and tail kept, one marker saying what was cut', async () => {
    const scheduler = await startScheduler();
    const worker = await startWorker(scheduler, { args: ['--output-cap', String(CAP)] });
    const res = await fetch(`${scheduler.api}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        worker_id: worker.id,
        command: 'bash',
        args: ['-c', 'echo FIRST; yes 0123456789abcdef | head -c 100000000; echo; echo "to stderr" >&2; seq 1 5000; echo THE-END'],
      }),
    });
    const job = (await res.json()) as Json;
    assert.equal(res.status, 201, JSON.stringify(job));
    const file = path.join(worker.dataDir, 'output', `${String(job.id)}.log`);
    // Watched while the job writes: any moment over the bound fails the test.
    let largest = 0;
    let watching = true;
    const watch = (async () => {
      while (watching) {
        try {
          largest = Math.max(largest, statSync(file).size);
        } catch {
          // not created yet
        }
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const done = await waitForFinal(scheduler.api, String(job.id));
    watching = false;
    await watch;
    assert.equal(done.state, 'succeeded', JSON.stringify(done));
    assert.equal(done.output_truncated, true);
    assert.ok(largest <= CAP + SLACK, `the file reached ${largest} bytes`);
    const size = statSync(file).size;
    assert.ok(size > CAP && size <= CAP + SLACK, `final size ${size}`);

    const text = await (await fetch(`${scheduler.api}/v1/jobs/${String(job.id)}/output`)).text();
    assert.equal(Buffer.byteLength(text), size);
    assert.ok(text.startsWith('FIRST\n0123456789abcdef\n'), 'the head');
    // Between stdout and stderr the order is the order the copy found them waiting (docs/architecture.md),
    // which a loaded machine can turn around; within each stream it is exact.
    const kept = text.slice(text.lastIndexOf(']\n') + 2);
    assert.ok(kept.includes('to stderr\n'), 'stderr in the tail');
    const stdoutTail = `\n${Array.from({ length: 5000 }, (_, i) => `${i + 1}\n`).join('')}THE-END\n`;
    assert.ok(kept.replace('to stderr\n', '').endsWith(stdoutTail), 'the tail of stdout, in the order written');
    assert.ok(text.length - text.lastIndexOf(']\n') - 2 === TAIL, 'the tail is a quarter of the cap');
    const markers = text.match(/\n\[baton: (\d+) bytes of output cut here[^\n]*\]\n/g) ?? [];
    assert.equal(markers.length, 1, 'one marker line');
    const written = 'FIRST\n'.length + 100_000_000 + 1 + 'to stderr\n'.length + Array.from({ length: 5000 }, (_, i) => `${i + 1}\n`).join('').length + 'THE-END\n'.length;
    assert.equal(Number(/(\d+) bytes/.exec(markers[0]!)![1]), written - CAP, 'it says how many bytes were cut');
  });
});
