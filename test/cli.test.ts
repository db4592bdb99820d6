// The operator CLI (run, ps, status, logs, stop, workers) run as real `baton` processes
// against a real scheduler and worker.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startScheduler, startWorker, jobsDir, tempDir, freePort, eventually, type SchedulerHandle, type WorkerHandle } from './harness.js';
import { baton, type CliResult } from './support/cli.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function oneLine(r: CliResult): string {
  const lines = r.stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, `one line on stderr, got: ${JSON.stringify(r.stderr)}`);
  return lines[0]!;
}

describe('baton CLI against a real cluster', () => {
  let scheduler: SchedulerHandle;
  let worker: WorkerHandle;
  let api: string;
  const run = (args: string[]): Promise<CliResult> => baton(args, { api });

  before(async () => {
    scheduler = await startScheduler();
    worker = await startWorker(scheduler, { jobsDir: jobsDir({ 'sub/where.sh': '#!/bin/bash\necho "$GREETING from $(basename "$PWD")"\n' }) });
    api = scheduler.api;
  });

  it('run streams the output and exits with the job’s exit code, on the only worker up', async () => {
    const r = await run(['run', '--', 'bash', '-c', 'echo hi; exit 7']);
    assert.equal(r.stdout, 'hi\n');
    assert.equal(r.code, 7, r.stderr);
    assert.equal(r.stderr, '');
  });

  it('run exits 0 on success, 128+signo on a signal, 127 for an unknown command', async () => {
    const [ok, killed, missing] = await Promise.all([
      run(['run', '--worker', worker.id, '-e', 'GREETING=hello', '--cwd', 'sub', '--', 'bash', 'where.sh']),
      run(['run', '--', 'bash', '-c', 'kill -9 $$']),
      run(['run', '--', 'no-such-command-xyz']),
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, 'hello from sub\n');
    assert.equal(killed.code, 137, killed.stderr);
    assert.equal(missing.code, 127);
    assert.match(oneLine(missing), /^baton: command not found: no-such-command-xyz$/);
  });

  it('run -e KEY passes this shell’s value, --env-file reads a file, -e wins over it', async () => {
    const file = path.join(tempDir(), 'job.env');
    writeFileSync(file, '# for the job\nA=from-file\nB=from-file\nGREETING\n');
    const r = await baton(['run', '-e', 'GREETING', '--env-file', file, '-e', 'B=from-flag', '--', 'bash', '-c', 'echo "$GREETING $A $B"'], { api, env: { GREETING: 'hello' } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hello from-file from-flag\n');
    const unset = await baton(['run', '-e', 'NOT_SET_HERE', '--', 'true'], { api });
    assert.equal(unset.code, 1);
    assert.match(oneLine(unset), /NOT_SET_HERE is not set here \(to pass it empty, write NOT_SET_HERE=\)/);
  });

  it('global flags may come before the subcommand', async () => {
    const r = await baton(['--addr', api, 'workers', '--json'], { env: { BATON_ADDR: 'http://127.0.0.1:9' } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { id: string }[])[0]?.id, worker.id);
  });

  it('run --json streams the output to stderr and prints the final job on stdout', async () => {
    const r = await run(['run', '--json', '--', 'bash', '-c', 'echo out; exit 3']);
    assert.equal(r.code, 3);
    assert.equal(r.stderr, 'out\n');
    const job = JSON.parse(r.stdout) as { state: string; exit_code: number; attempts: unknown[] };
    assert.equal(job.state, 'failed');
    assert.equal(job.exit_code, 3);
  });

  it('run follows a retried job through every attempt, each under a header, and exits with the last code', async () => {
    const r = await run(['run', '--retries', '2', '--', 'bash', '-c', 'echo try "$(cut -d. -f2 <<<"$BATON_JOB_ID")"; exit 1']);
    assert.equal(r.code, 1, r.stderr);
    const id = (JSON.parse((await run(['ps', '--json', '--limit', '1'])).stdout) as { id: string }[])[0]!.id;
    assert.equal(r.stdout, `try ${id}\ntry 2\ntry 3\n`);
    assert.deepEqual(r.stderr.split('\n').filter(Boolean), [
      `baton: attempt 1 of 3 on ${worker.id}`,
      'baton: attempt 1 of 3 failed: exited with code 1',
      `baton: attempt 2 of 3 on ${worker.id}`,
      'baton: attempt 2 of 3 failed: exited with code 1',
      `baton: attempt 3 of 3 on ${worker.id}`,
    ]);
    const later = await fetch(`${api}/v1/jobs/${id}/output?attempt=4`);
    assert.equal(later.status, 409);
    assert.equal(((await later.json()) as { code: string }).code, 'wrong_state');
  });

  it('run --help and the README give the same exit statuses', async () => {
    const help = (await baton(['run', '--help'])).stdout;
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const codes = (text: string): string[] => [...new Set(text.match(/128\+N|\b1\d\d\b/g))].sort();
    const helpCodes = codes(help.slice(help.indexOf('Exit status:'), help.indexOf('\n\n', help.indexOf('Exit status:'))));
    const readmeCodes = codes(readme.slice(readme.indexOf('`baton run` runs a command'), readme.indexOf('```console')));
    assert.deepEqual(helpCodes, ['124', '125', '126', '127', '128+N', '137', '143']);
    assert.deepEqual(readmeCodes, helpCodes);
  });

  it('run --detach prints the id; ps, status, logs and stop work on the running job', async () => {
    const detached = await run(['run', '--detach', '--', 'bash', '-c', 'echo started; exec sleep 120']);
    assert.equal(detached.code, 0, detached.stderr);
    const id = detached.stdout.trim();
    assert.match(id, UUID);

    await eventually(async () => {
      const s = JSON.parse((await run(['status', '--json', id])).stdout) as { state: string };
      return s.state === 'running' ? true : undefined;
    }, 'the job to run');

    const ps = await run(['ps', '--json']);
    assert.equal(ps.code, 0, ps.stderr);
    const listed = (JSON.parse(ps.stdout) as { id: string; state: string }[]).find((j) => j.id === id);
    assert.equal(listed?.state, 'running');

    const [table, filtered, status, logs] = await Promise.all([run(['ps']), run(['ps', '--state', 'running', '--worker', worker.id]), run(['status', id]), run(['logs', id])]);
    const header = table.stdout.split('\n')[0]!;
    assert.match(header, /^JOB ID\s+STATE\s+WORKER\s+COMMAND\s+CREATED\s+DURATION\s+EXIT$/);
    const row = table.stdout.split('\n').find((l) => l.startsWith(id));
    assert.ok(row, table.stdout);
    assert.match(row, new RegExp(`^${id}\\s+running\\s+${worker.id}\\s+bash -c 'echo started; exec sleep 120'\\s+(just now|\\d+s ago|\\d+m ago)\\s+\\S+\\s+-$`));
    assert.ok(!table.stdout.includes('\u001b['), 'no colour when stdout is not a terminal');
    assert.deepEqual(
      filtered.stdout
        .split('\n')
        .slice(1)
        .filter(Boolean)
        .map((l) => l.split(/\s+/)[0]),
      [id],
    );
    assert.match(status.stdout, new RegExp(`^Job:\\s+${id}$`, 'm'));
    assert.match(status.stdout, /^State:\s+running$/m);
    assert.match(status.stdout, /^Attempts:$/m);
    assert.equal(logs.stdout, 'started\n');

    const stop = await run(['stop', id]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(stop.stdout, `${id} stopped (stopped with SIGTERM)\n`);
    const after = JSON.parse((await run(['status', '--json', id])).stdout) as { state: string; signal: string };
    assert.equal(after.state, 'stopped');

    const again = await run(['stop', id]);
    assert.notEqual(again.code, 0);
    assert.match(oneLine(again), /^baton: job \S+ already ended \(stopped\)$/);
  });

  it('logs -f follows a job until it ends', async () => {
    const id = (await run(['run', '--detach', '--', 'bash', '-c', 'echo one; sleep 1; echo two'])).stdout.trim();
    const r = await run(['logs', '-f', id]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'one\ntwo\n');
  });

  it('workers lists the worker as a table and as JSON', async () => {
    const [table, json] = await Promise.all([run(['workers']), run(['workers', '--json'])]);
    assert.equal(table.code, 0, table.stderr);
    const [header, row] = table.stdout.split('\n');
    assert.match(header!, /^WORKER ID\s+STATE\s+ADDRESS\s+RUNNING\s+LABELS\s+LAST HEARTBEAT\s+VERSION$/);
    assert.match(row!, new RegExp(`^${worker.id}\\s+up\\s+127\\.0\\.0\\.1:\\d+\\s+\\d+/16\\s+-\\s+(just now|\\d+s ago)\\s+\\S+$`));
    const workers = JSON.parse(json.stdout) as { id: string; state: string }[];
    assert.deepEqual(
      workers.map((w) => [w.id, w.state]),
      [[worker.id, 'up']],
    );
  });

  it('an unknown job is a non-zero exit with one line', async () => {
    for (const args of [
      ['status', 'nope'],
      ['logs', 'nope'],
      ['stop', 'nope'],
    ]) {
      const r = await run(args);
      assert.equal(r.code, 1, args.join(' '));
      assert.equal(r.stdout, '');
      assert.equal(oneLine(r), 'baton: job "nope" not found (`baton ps` lists jobs)');
    }
  });

  it('an unreachable scheduler says so and what to do', async () => {
    const addr = `http://127.0.0.1:${await freePort()}`;
    const expected = `baton: cannot reach the scheduler at ${addr} (connection refused): is \`baton scheduler\` running?`;
    const ps = await baton(['ps', '--addr', addr]);
    assert.equal(ps.code, 1);
    assert.equal(oneLine(ps), expected);
    const viaEnv = await baton(['workers'], { env: { BATON_ADDR: addr } });
    assert.equal(oneLine(viaEnv), expected);
    const runIt = await baton(['run', '--addr', addr, '--', 'true']);
    assert.equal(runIt.code, 125, 'run’s own failures are 125, like docker run');
    assert.equal(oneLine(runIt), expected);
  });

  it('run without --worker lets the scheduler place the job, whatever the number of workers up', async () => {
    const second = await startWorker(scheduler);
    const r = await run(['run', '--', 'true']);
    assert.equal(r.code, 0, r.stderr);
    const chosen = await run(['run', '--worker', second.id, '--json', '--', 'true']);
    assert.equal(chosen.code, 0, chosen.stderr);
    assert.equal((JSON.parse(chosen.stdout) as { worker_id: string }).worker_id, second.id);
  });

  it('--help has examples on every command', async () => {
    for (const name of ['run', 'ps', 'status', 'logs', 'stop', 'workers', 'wait', 'events', 'drain', 'undrain']) {
      const r = await baton([name, '--help']);
      assert.equal(r.code, 0, name);
      assert.match(r.stdout, /Examples:\n {2}baton /, name);
      assert.match(r.stdout, /--addr/, name);
      assert.match(r.stdout, /BATON_TOKEN/, name);
    }
  });
});

describe('baton CLI with API tokens', () => {
  it('sends --token / BATON_TOKEN, and a missing or weak token says what to do', async () => {
    const dataDir = tempDir('baton-cli-auth-');
    const create = await baton(['token', 'create', '--role', 'viewer', '--name', 'cli-viewer', '--data-dir', dataDir]);
    assert.equal(create.code, 0, create.stderr);
    const token = create.stdout.trim();
    const scheduler = await startScheduler({ dataDir, args: ['--auth'] });
    await startWorker(scheduler);

    const anonymous = await baton(['workers'], { api: scheduler.api });
    assert.equal(anonymous.code, 1);
    assert.match(oneLine(anonymous), /^baton: .*token.* \(pass --token or set BATON_TOKEN\)$/);

    const withFlag = await baton(['workers', '--json', '--token', token], { api: scheduler.api });
    assert.equal(withFlag.code, 0, withFlag.stderr);
    assert.equal((JSON.parse(withFlag.stdout) as unknown[]).length, 1);

    const viewerRuns = await baton(['run', '--', 'true'], { api: scheduler.api, env: { BATON_TOKEN: token } });
    assert.equal(viewerRuns.code, 125);
    assert.match(oneLine(viewerRuns), /^baton: .* \(the token is not allowed to do this\)$/);
  });
});
