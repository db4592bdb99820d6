// stdout and stderr kept apart as well as interleaved: read live from the worker, kept by the
// scheduler after the worker is gone, within the cap, resumed by offset in a stream, and
// `baton run` / `baton logs --stderr` sending each where it belongs.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { baton } from './support/cli.js';
import { eventually, jobsDir, startScheduler, startWorker, tempDir, waitForFinal, submitJob } from './harness.js';

type Json = Record<string, unknown>;

async function read(api: string, id: string, query = ''): Promise<{ status: number; text: string; offset: string | null; code?: string }> {
  const res = await fetch(`${api}/v1/jobs/${id}/output${query}`);
  const text = await res.text();
  const code = res.status === 200 ? undefined : String((JSON.parse(text) as Json).code);
  return { status: res.status, text, offset: res.headers.get('baton-offset'), ...(code ? { code } : {}) };
}

/**
 * Writes `lines` lines alternately to stdout and stderr (three stdout lines, then two stderr
 * lines), and before each change of stream waits for the file `step-<i>` in $GATE, which the
 * test creates once the lines before are in the output: the order between the streams is
 * then the order written, not a race of two pipes. Then waits for `go` before it ends, so
 * that it can be read while it runs.
 */
const ALTERNATE = `#!/bin/bash
for i in $(seq 1 "$1"); do
  if [ $((i % 5)) -eq 0 ] || [ $((i % 5)) -eq 3 ]; then while [ ! -e "$GATE/step-$i" ]; do sleep 0.01; done; fi
  if [ $((i % 5)) -lt 3 ]; then echo "out $i: some words on stdout"; else echo "err $i: and a few on stderr" >&2; fi
done
while [ ! -e "$GATE/go" ]; do sleep 0.02; done
`;

function expected(lines: number): { all: string; out: string; err: string } {
  let all = '';
  let out = '';
  let err = '';
  for (let i = 1; i <= lines; i++) {
    const line = i % 5 < 3 ? `out ${i}: some words on stdout\n` : `err ${i}: and a few on stderr\n`;
    all += line;
    if (i % 5 < 3) out += line;
    else err += line;
  }
  return { all, out, err };
}

describe('stdout and stderr apart', () => {
  it('interleaved unchanged, each stream alone byte for byte, live and from the kept copy after the worker is SIGKILLed; offset and tail count the stream', async () => {
    const gate = tempDir('baton-gate-');
    chmodSync(gate, 0o755); // the job may run as nobody
    const scheduler = await startScheduler();
    const worker = await startWorker(scheduler, { jobsDir: jobsDir({ 'alternate.sh': ALTERNATE }) });
    const id = await submitJob(scheduler.api, {
      worker_id: worker.id,
      command: 'bash',
      path: 'alternate.sh',
      args: ['40'],
      env: { GATE: gate },
    });
    const want = expected(40);
    // A follower of stderr from the start, live.
    const followed = read(scheduler.api, id, '?stream=stderr&follow=true');
    for (let i = 1; i <= 40; i++) {
      if (i % 5 !== 0 && i % 5 !== 3) continue;
      const before = `${want.all
        .split('\n')
        .slice(0, i - 1)
        .join('\n')}\n`;
      await eventually(async () => ((await read(scheduler.api, id)).text === before ? true : undefined), `the job wrote its first ${i - 1} lines`);
      writeFileSync(path.join(gate, `step-${i}`), '');
    }
    await eventually(async () => ((await read(scheduler.api, id)).text === want.all ? true : undefined), 'the job wrote its lines');

    const live = {
      all: await read(scheduler.api, id),
      out: await read(scheduler.api, id, '?stream=stdout'),
      err: await read(scheduler.api, id, '?stream=stderr'),
      errFrom: await read(scheduler.api, id, '?stream=stderr&offset=40'),
      errTail: await read(scheduler.api, id, '?stream=stderr&tail=2'),
    };
    assert.equal(live.all.text, want.all);
    assert.equal(live.out.text, want.out);
    assert.equal(live.err.text, want.err);
    assert.equal(live.errFrom.text, want.err.slice(40), 'offset counts bytes of stderr');
    assert.equal(live.errFrom.offset, '40');
    const lastTwo = want.err.split('\n').slice(-3).join('\n');
    assert.equal(live.errTail.text, lastTwo);
    assert.equal(live.errTail.offset, String(want.err.length - lastTwo.length));

    writeFileSync(path.join(gate, 'go'), '');
    assert.equal((await waitForFinal(scheduler.api, id)).state, 'succeeded');
    assert.equal((await followed).text, want.err, 'followed live, stderr alone');
    // Small: the output and its runs came in the end report, kept in the end's commit, not copied.
    assert.ok(!scheduler.logs.some((l) => l.msg === 'job output kept' && l.job_id === id));
    await worker.kill('SIGKILL');

    assert.equal((await read(scheduler.api, id)).text, want.all);
    assert.equal((await read(scheduler.api, id, '?stream=stdout')).text, want.out);
    assert.equal((await read(scheduler.api, id, '?stream=stderr')).text, want.err);
    assert.equal((await read(scheduler.api, id, '?stream=stdout&offset=33')).text, want.out.slice(33));
    assert.equal((await read(scheduler.api, id, '?stream=stderr&tail=2')).text, lastTwo);
    assert.equal((await read(scheduler.api, id, '?stream=stderr&follow=true')).text, want.err, 'following an ended job gives its stream whole');
    assert.equal((await read(scheduler.api, id, '?stream=both')).status, 400);
  });

  it('over the cap: each stream keeps its part of the head and of the tail, with the marker line, and the file stays within cap + marker', async () => {
    const cap = 64 * 1024;
    const scheduler = await startScheduler();
    const worker = await startWorker(scheduler, { args: ['--output-cap', String(cap)] });
    // Each stream in the head, ~1.2 MB of each cut, and both again in the tail (alternating: which comes first there is a race of two pipes).
    // Between streams the copy keeps the order it finds bytes waiting, and a loaded machine can find the
    // next phase's stdout beside the last one's stderr: the pauses let it drain a phase before the next.
    const script = [
      'seq -f "O%g" 1 3000; seq -f "E%g" 1 3000 >&2; sleep 0.2',
      'seq -f "O%g" 3001 100000; seq -f "E%g" 3001 100000 >&2; sleep 0.2',
      'for i in $(seq 100001 100500); do echo "O$i"; echo "E$i" >&2; done',
    ].join('; ');
    const id = await submitJob(scheduler.api, { worker_id: worker.id, command: 'bash', args: ['-c', script] });
    assert.equal((await waitForFinal(scheduler.api, id)).state, 'succeeded');
    assert.ok(statSync(path.join(worker.dataDir, 'output', `${id}.log`)).size <= cap + 200);
    await scheduler.waitForLog((l) => l.msg === 'job output kept' && l.job_id === id);
    const all = (await read(scheduler.api, id)).text;
    const out = (await read(scheduler.api, id, '?stream=stdout')).text;
    const err = (await read(scheduler.api, id, '?stream=stderr')).text;
    const marker = /\n\[baton: \d+ bytes of output cut here[^\n]*\]\n/.exec(all)?.[0];
    assert.ok(marker, 'the interleaved output has its marker line');
    assert.equal(out.length + err.length, all.length + marker.length, 'every byte in one stream, the marker in both');
    for (const [name, text, prefix] of [
      ['stdout', out, 'O'],
      ['stderr', err, 'E'],
    ] as const) {
      const full = Array.from({ length: 100500 }, (_, i) => `${prefix}${i + 1}\n`).join('');
      const at = text.indexOf(marker);
      assert.ok(at > 0, `${name} has a head and the marker`);
      const head = text.slice(0, at);
      const tail = text.slice(at + marker.length);
      assert.ok(full.startsWith(head), `${name}'s head is the start of what it wrote`);
      assert.ok(full.endsWith(tail) && tail.length > 0, `${name}'s tail is the end of what it wrote`);
    }
    // Both streams' tails reach their last line: the ring kept the latest bytes of each.
    assert.ok(out.endsWith('O100500\n') && err.endsWith('E100500\n'));
  });

  it("`baton run` sends the job's stderr to its stderr; `baton logs --stderr` and `--stdout` print one stream", async () => {
    const scheduler = await startScheduler();
    const worker = await startWorker(scheduler);
    const run = await baton(['run', '--worker', worker.id, '--', 'bash', '-c', 'echo out1; echo err1 >&2; echo out2; echo err2 >&2; exit 3'], { api: scheduler.api });
    assert.equal(run.code, 3, run.stderr);
    assert.equal(run.stdout, 'out1\nout2\n');
    assert.ok(run.stderr.includes('err1\nerr2\n'), run.stderr);
    assert.ok(!run.stderr.includes('out1'), run.stderr);

    const id = await submitJob(scheduler.api, { worker_id: worker.id, command: 'bash', args: ['-c', 'echo one; echo two >&2; echo three'] });
    await waitForFinal(scheduler.api, id);
    assert.deepEqual(await baton(['logs', '--stderr', id], { api: scheduler.api }), { code: 0, stdout: 'two\n', stderr: '' });
    assert.deepEqual(await baton(['logs', '--stdout', id], { api: scheduler.api }), { code: 0, stdout: 'one\nthree\n', stderr: '' });
    assert.deepEqual(await baton(['logs', '--stderr', '--tail', '1', id], { api: scheduler.api }), { code: 0, stdout: 'two\n', stderr: '' });
    const both = await baton(['logs', '--stderr', '--stdout', id], { api: scheduler.api });
    assert.notEqual(both.code, 0);
  });
});
