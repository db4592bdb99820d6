// Durations read the same everywhere (a bare number is seconds) and baton.toml is strict:
// real `baton` processes, a real scheduler and worker.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startProcess, startScheduler, startWorker, tempDir, type SchedulerHandle, type WorkerHandle } from './harness.js';
import { baton } from './support/cli.js';

/** A baton.toml in a folder of its own. */
function config(text: string): string {
  const file = path.join(tempDir('baton-config-'), 'baton.toml');
  writeFileSync(file, text);
  return file;
}

describe('durations: a bare number is seconds', () => {
  let scheduler: SchedulerHandle;
  let worker: WorkerHandle;

  before(async () => {
    scheduler = await startScheduler({ args: ['--config', config('[scheduler]\nheartbeat_interval = 3\n')] });
    worker = await startWorker(scheduler);
  });
  after(() => Promise.all([worker.kill(), scheduler.kill()]));

  it('baton run -t N is N seconds: -t 1 times out a 5 s sleep, -t 2 lets a half-second one succeed', async () => {
    const cases: [string, string, string][] = [
      ['1', '5', 'timed_out'],
      ['2', '0.5', 'succeeded'],
    ];
    for (const [timeout, sleep, state] of cases) {
      const r = await baton(['run', '-t', timeout, '--json', '--', 'sleep', sleep], { api: scheduler.api });
      const job = JSON.parse(r.stdout) as { state: string; timeout: number };
      assert.equal(job.state, state, `-t ${timeout} sleep ${sleep}: ${r.stderr}`);
      assert.equal(job.timeout, Number(timeout));
      assert.equal(r.code, state === 'succeeded' ? 0 : 124);
    }
  });

  it('baton wait --timeout 1 gives up after a second', async () => {
    const id = (await baton(['run', '--detach', '--', 'sleep', '30'], { api: scheduler.api })).stdout.trim();
    const r = await baton(['wait', '--timeout', '1', id], { api: scheduler.api });
    assert.equal(r.code, 124, r.stderr);
    assert.match(r.stderr, new RegExp(`^baton: job ${id} still running after 1s$`, 'm'));
    await baton(['stop', '--grace', '0', id], { api: scheduler.api });
  });

  it('a bare number in baton.toml is seconds: heartbeat_interval = 3 tells workers 3000 ms', async () => {
    const registered = await worker.waitForLog((l) => l.msg === 'worker registered');
    assert.equal(registered.heartbeat_interval_ms, 3_000);
  });

  it('a value that is not a duration is one line naming the flag, exit 1', async () => {
    const r = await baton(['run', '-t', '5 minutes', '--', 'true'], { api: scheduler.api });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /option '-t, --timeout <duration>' argument '5 minutes' is invalid\. not a duration; use a number of seconds or a unit, e\.g\. 30s, 5m, 500ms/);
  });
});

describe('baton.toml is strict', () => {
  const scheduler = ['scheduler', '--http', '127.0.0.1:0', '--grpc', '127.0.0.1:0', '--insecure'];
  const worker = ['worker', '--insecure', '--id', 'w-typo', '--scheduler', '127.0.0.1:1'];
  const cases: [string, string[], string, RegExp][] = [
    ['scheduler: a misspelt key', scheduler, '[scheduler]\nhearbeat_ttl = "5s"\n', /unknown key "hearbeat_ttl" in \[scheduler\]; did you mean heartbeat_ttl\?$/m],
    ['scheduler: a string for a number', scheduler, '[scheduler]\nmax_queued = "many"\n', /\[scheduler\] max_queued = "many": must be a whole number/],
    ['worker: a misspelt key', worker, '[worker]\nstop_grase = "5s"\n', /unknown key "stop_grase" in \[worker\]; did you mean stop_grace\?$/m],
    ['worker: an unknown section', worker, '[wroker]\ncapacity = 2\n', /unknown section \[wroker\]; did you mean \[worker\]\?/],
    ['token: a misspelt store key', ['token', 'list'], '[scheduler]\nstroe = "postgres://127.0.0.1:1/x"\n', /unknown key "stroe" in \[scheduler\]; did you mean store\?$/m],
  ];
  for (const [what, args, toml, message] of cases) {
    it(`${what}: exits 1 with one line naming the file and the key`, { timeout: 60_000 }, async () => {
      const file = config(toml);
      const proc = startProcess(args[0]!, [...args, '--data-dir', tempDir(), '--config', file]);
      assert.equal((await proc.exited).code, 1);
      const output = proc.output.join('');
      assert.match(output, new RegExp(`^baton: ${file.replaceAll('.', '\\.')}: `, 'm'));
      assert.match(output, message);
    });
  }
});
