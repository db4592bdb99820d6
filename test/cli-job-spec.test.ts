// `baton run -i` (stdin to the job), --name and the sandbox/run_on flags, and `ps` showing
// names and labels: real `baton` processes against a real scheduler and two workers.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, createHash } from 'node:crypto';
import { startScheduler, startWorker, getJson, type SchedulerHandle, type WorkerHandle } from './harness.js';
import { baton, type CliResult } from './support/cli.js';

describe('baton run: stdin, name, resources, run_on', () => {
  let scheduler: SchedulerHandle;
  let workers: WorkerHandle[];
  let api: string;
  const run = (args: string[], input?: string | Uint8Array): Promise<CliResult> => baton(args, { api, input });

  before(async () => {
    scheduler = await startScheduler();
    api = scheduler.api;
    const limits = ['--max-memory', '64MiB', '--max-cpu', '1', '--max-pids', '100'];
    workers = await Promise.all([startWorker(scheduler, { args: [...limits, '--label', 'team=ml'] }), startWorker(scheduler, { args: limits })]);
  });
  after(() => Promise.all([...workers.map((w) => w.kill()), scheduler.kill()]));

  it('echo hi | baton run -i -- cat prints hi; without -i the job reads an empty stdin', async () => {
    const [piped, dropped] = await Promise.all([run(['run', '-i', '--', 'cat'], 'hi\n'), run(['run', '--', 'cat'], 'hi\n')]);
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(piped.stdout, 'hi\n');
    assert.equal(dropped.code, 0, dropped.stderr);
    assert.equal(dropped.stdout, '');
  });

  it('stdin is sent byte for byte, and every attempt reads it from the start', async () => {
    const bytes = randomBytes(64 * 1024);
    const hash = await run(['run', '-i', '--', 'sha256sum'], bytes);
    assert.equal(hash.code, 0, hash.stderr);
    assert.equal(hash.stdout, `${createHash('sha256').update(bytes).digest('hex')}  -\n`);

    const retried = await run(['run', '-i', '--retries', '1', '--', 'bash', '-c', 'cat; exit 3'], 'again\n');
    assert.equal(retried.code, 3, retried.stderr);
    assert.equal(retried.stdout, 'again\nagain\n');
    assert.match(retried.stderr, /attempt 2 of 2/);
  });

  it('stdin over 512 KiB is refused before anything is submitted, with one line', async () => {
    const before = (await getJson(`${api}/v1/jobs?limit=500`)).json.jobs as unknown[];
    const r = await run(['run', '-i', '--', 'wc', '-c'], Buffer.alloc(512 * 1024 + 1));
    assert.notEqual(r.code, 0);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, "baton: stdin is larger than 512 KiB, the most -i sends with a job: put larger input in a file in the worker's jobs folder instead\n");
    assert.equal(((await getJson(`${api}/v1/jobs?limit=500`)).json.jobs as unknown[]).length, before.length);
    const full = await run(['run', '-i', '--', 'wc', '-c'], Buffer.alloc(512 * 1024));
    assert.equal(full.code, 0, full.stderr);
    assert.equal(full.stdout.trim(), String(512 * 1024));
  });

  it('--name shows in status, ps and ps -o wide (with the labels), and ps --name filters by it', async () => {
    const name = `nightly-${process.pid}`;
    const r = await run(['run', '--name', name, '--label', 'team=ml', '--', 'true']);
    assert.equal(r.code, 0, r.stderr);
    const [list, wide, none] = await Promise.all([run(['ps', '--name', name]), run(['ps', '--name', name, '-o', 'wide']), run(['ps', '--name', 'no-such-name'])]);
    const rows = list.stdout.trim().split('\n');
    assert.equal(rows.length, 2, list.stdout);
    assert.match(rows[0]!, /^JOB ID +NAME +STATE/);
    assert.match(rows[1]!, new RegExp(`^\\S+ +${name} +succeeded +`));
    assert.match(wide.stdout.trim().split('\n')[1]!, new RegExp(`${name} +succeeded +\\S+ +1 +team=ml +true `));
    assert.equal(none.stdout, '');
    assert.equal(none.stderr, 'no jobs\n');
    const id = rows[1]!.split(/ +/)[0]!;
    const status = await run(['status', id]);
    assert.match(status.stdout, new RegExp(`^Name: +${name}$`, 'm'));
    assert.match(status.stdout, /^Labels: +team=ml$/m);
    assert.equal(((await getJson(`${api}/v1/jobs/${id}`)).json as { name: string }).name, name);
  });

  it('--memory, --cpu and --pids reach the worker, which refuses what is above its maximums', async () => {
    const [memory, cpu, pids] = await Promise.all([
      run(['run', '--memory', '1GiB', '--', 'true']),
      run(['run', '--cpu', '2', '--', 'true']),
      run(['run', '--pids', '1000', '--', 'true']),
    ]);
    for (const [r, word] of [
      [memory, 'memory'],
      [cpu, 'cpu'],
      [pids, 'pids'],
    ] as const) {
      assert.equal(r.code, 125, `${word}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^baton: .*${word}`, 'i'));
    }
  });

  it('--isolate gives the job its own PID namespace (or is refused by a worker not running as root)', async () => {
    const r = await run(['run', '--isolate', '--', 'bash', '-c', 'echo $$']);
    if (r.code === 0) assert.equal(r.stdout, '1\n');
    else assert.match(r.stderr, /isolate/);
  });

  it('--run-on all runs a copy on every worker, under a parent', async () => {
    const r = await run(['run', '--run-on', 'all', '--detach', '--json', '--', 'true']);
    assert.equal(r.code, 0, r.stderr);
    const parent = JSON.parse(r.stdout) as { id: string; children: string[] };
    assert.equal(parent.children.length, 2);
  });
});
