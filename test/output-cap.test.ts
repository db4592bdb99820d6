// The output cap holds as written: a job writing fast past a small cap leaves at most the cap
// plus the marker line on disk, with the head and the tail of what it wrote; a job switching
// stream every byte adds at most 1/16 of the cap of runs, and its streams are then refused.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { eventually, startScheduler, startWorker, submitJob, tempDir, waitForFinal } from './harness.js';

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

/** Bytes of a file, 0 while it does not exist. */
function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/**
 * Writes `apart` pairs of one byte to stdout then one to stderr, each waited out of its pipe
 * (FIONREAD on the write end) before the next, so that the copy sees every byte as a run of
 * its own; then `more` pairs without waiting, past the cap; then waits for $GATE/go.
 */
const ALTERNATE_BYTES = `
my ($apart, $more) = @ARGV;
sub one {
  my ($fh, $c, $wait) = @_;
  syswrite($fh, $c) == 1 or die "write: $!";
  return unless $wait;
  my $n = pack("L", 0);
  while (1) {
    ioctl($fh, 0x541B, $n) or die "FIONREAD: $!";
    last if unpack("L", $n) == 0;
    select(undef, undef, undef, 0.0001);
  }
}
for my $i (1 .. $apart + $more) { one(*STDOUT, "o", $i <= $apart); one(*STDERR, "e", $i <= $apart); }
select(undef, undef, undef, 0.02) until -e "$ENV{GATE}/go";
`;

describe('output cap with stdout and stderr apart', () => {
  it('a job switching stream every byte: output + runs never over cap + marker + cap/16 on disk; its streams refused (409), its output exact', async () => {
    const cap = 16 * 1024;
    const runsBound = cap / 16;
    const [apart, more] = [1500, 10_000];
    const gate = tempDir('baton-gate-');
    chmodSync(gate, 0o755); // the job may run as nobody
    const scheduler = await startScheduler();
    const worker = await startWorker(scheduler, { args: ['--output-cap', String(cap)] });
    const id = await submitJob(scheduler.api, {
      worker_id: worker.id,
      command: 'perl',
      args: ['-e', ALTERNATE_BYTES, String(apart), String(more)],
      env: { GATE: gate },
    });
    const file = path.join(worker.dataDir, 'output', `${id}.log`);
    const runsFile = path.join(worker.dataDir, 'output', `${id}.runs`);
    // Watched while the job writes: any moment over the bound fails the test.
    let largest = { log: 0, runs: 0, both: 0 };
    let watching = true;
    const watch = (async () => {
      while (watching) {
        const [log, runs] = [sizeOf(file), sizeOf(runsFile)];
        largest = { log: Math.max(largest.log, log), runs: Math.max(largest.runs, runs), both: Math.max(largest.both, log + runs) };
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    // The runs stop (length 0, kind 3) once they would pass the bound; then a stream is refused while the job runs.
    await eventually(async () => {
      const runs = sizeOf(runsFile) > 0 ? readFileSync(runsFile) : undefined;
      return runs?.[runs.length - 1] === 3 ? true : undefined;
    }, 'the runs to end with their stop');
    const live = await fetch(`${scheduler.api}/v1/jobs/${id}/output?stream=stderr`);
    assert.equal(live.status, 409);
    assert.equal(((await live.json()) as Json).code, 'output_not_split');
    writeFileSync(path.join(gate, 'go'), '');
    const done = await waitForFinal(scheduler.api, id);
    watching = false;
    await watch;
    assert.equal(done.state, 'succeeded', JSON.stringify(done));
    assert.ok(largest.runs <= runsBound, `the runs reached ${largest.runs} bytes`);
    assert.ok(largest.both <= cap + SLACK + runsBound, `output and runs reached ${largest.both} bytes`);
    assert.ok(sizeOf(file) > cap && sizeOf(file) <= cap + SLACK, `final size ${sizeOf(file)}`);

    await scheduler.waitForLog((l) => l.msg === 'job output kept' && l.job_id === id);
    for (const stream of ['stdout', 'stderr']) {
      const res = await fetch(`${scheduler.api}/v1/jobs/${id}/output?stream=${stream}`);
      assert.equal(res.status, 409, `${stream} of the kept output`);
      const body = (await res.json()) as Json;
      assert.equal(body.code, 'output_not_split');
      assert.match(String(body.error), /1\/16 of the output cap/);
    }
    // The interleaved output is unchanged: the bytes waited out one by one in order, then a head of only o and e, one marker, a tail of o and e.
    const text = await (await fetch(`${scheduler.api}/v1/jobs/${id}/output`)).text();
    assert.ok(text.startsWith('oe'.repeat(apart)), 'the pairs written one byte at a time, in order');
    const marker = /\n\[baton: (\d+) bytes of output cut here[^\n]*\]\n/.exec(text);
    assert.ok(marker, 'one marker line');
    assert.equal(Number(marker[1]), 2 * (apart + more) - cap, 'it says how many bytes were cut');
    assert.match(text.slice(0, marker.index) + text.slice(marker.index + marker[0].length), /^[oe]+$/);
    assert.equal(text.length - marker[0].length, cap);
  });
});
