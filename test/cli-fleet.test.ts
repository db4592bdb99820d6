// The fleet side of the CLI as real `baton` processes: placement by label, the queued status
// line and Ctrl-C, --detach then wait, drain/undrain, events, completion, bad flags.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startScheduler, startWorker, type SchedulerHandle, type WorkerHandle } from './harness.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `baton …` against `api`; `onStderr` sees stderr as it arrives (e.g. to interrupt at the right moment). */
function baton(args: string[], api: string, onStderr?: (text: string, child: ReturnType<typeof spawn>) => void): Promise<Result> {
  const env: NodeJS.ProcessEnv = { ...process.env, BATON_ADDR: api };
  delete env.BATON_TOKEN;
  delete env.FORCE_COLOR;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      onStderr?.(stderr, child);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

describe('baton CLI: fleet commands', () => {
  let scheduler: SchedulerHandle;
  let gpu: WorkerHandle;
  let plain: WorkerHandle;

  before(async () => {
    scheduler = await startScheduler();
    [gpu, plain] = await Promise.all([startWorker(scheduler, { args: ['--label', 'zone=gpu'] }), startWorker(scheduler)]);
  });
  after(() => Promise.all([gpu.kill(), plain.kill(), scheduler.kill()]));

  it('run --label is placed on a worker with the label; --timeout, --retries and --priority reach the job', async () => {
    const r = await baton(['run', '--label', 'zone=gpu', '--timeout', '30s', '--retries', '2', '--priority', '5', '--json', '--', 'bash', '-c', 'echo placed'], scheduler.api);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, `baton: attempt 1 of 3 on ${gpu.id}\nplaced\n`);
    const job = JSON.parse(r.stdout) as { worker_id: string; timeout: number; priority: number; retry: { max_attempts: number } };
    assert.equal(job.worker_id, gpu.id);
    assert.equal(job.timeout, 30);
    assert.equal(job.priority, 5);
    assert.equal(job.retry.max_attempts, 3);
  });

  it('a job no worker can take shows why while queued; Ctrl-C stops it and exits 143', async () => {
    let interrupted = false;
    const r = await baton(['run', '--label', 'zone=mars', '--', 'true'], scheduler.api, (text, child) => {
      if (!interrupted && /queued: no worker has labels zone=mars/.test(text)) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    assert.equal(interrupted, true, r.stderr);
    assert.equal(r.code, 143, r.stderr);
    assert.match(r.stderr, /stopped/);
  });

  it('run --detach prints the id; wait exits with the job’s code', async () => {
    const d = await baton(['run', '--detach', '--', 'bash', '-c', 'sleep 0.5; exit 3'], scheduler.api);
    assert.equal(d.code, 0, d.stderr);
    const id = d.stdout.trim();
    const w = await baton(['wait', id], scheduler.api);
    assert.equal(w.code, 3, w.stderr);
    assert.match(w.stderr, /failed: exited with code 3/);
    const timedOut = await baton(['wait', '--timeout', '1s', (await baton(['run', '--detach', '--', 'sleep', '30'], scheduler.api)).stdout.trim()], scheduler.api);
    assert.equal(timedOut.code, 124);
  });

  it('drain and undrain a worker; workers shows it', async () => {
    const d = await baton(['drain', plain.id], scheduler.api);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, new RegExp(`worker ${plain.id} draining`));
    const table = await baton(['workers'], scheduler.api);
    assert.match(table.stdout, new RegExp(`${plain.id}\\s+up \\(draining\\)`));
    const u = await baton(['undrain', plain.id], scheduler.api);
    assert.equal(u.code, 0, u.stderr);
    assert.doesNotMatch((await baton(['workers'], scheduler.api)).stdout, /draining/);
    const missing = await baton(['drain', 'no-such-worker'], scheduler.api);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^baton: .*no-such-worker/);
  });

  it('events --json replays and follows; it ends quietly when its reader goes', async () => {
    let lines: string[] = [];
    const r = await new Promise<Result>((resolve) => {
      const env: NodeJS.ProcessEnv = { ...process.env, BATON_ADDR: scheduler.api };
      const child = spawn(process.execPath, [MAIN, 'events', '--since', '0', '--type', 'worker', '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        lines = out.split('\n').filter(Boolean);
        if (lines.length >= 2) child.kill('SIGTERM');
      });
      child.once('close', (code, signal) => resolve({ code, signal, stdout: out, stderr: '' }));
    });
    assert.ok(lines.length >= 2, r.stdout);
    const first = JSON.parse(lines[0]!) as { id: number; type: string; worker: { id: string } };
    assert.equal(first.type, 'worker');
    assert.ok(first.id > 0);
  });

  it('events prints when each job change happened, not when it was read (a replay shows the past)', async () => {
    const done = await baton(['run', '--json', '--', 'true'], scheduler.api);
    assert.equal(done.code, 0, done.stderr);
    const job = JSON.parse(done.stdout) as { id: string; state: string; updated_at: string };
    assert.equal(job.state, 'succeeded');
    let lines: string[] = [];
    await new Promise<void>((resolve) => {
      const env: NodeJS.ProcessEnv = { ...process.env, BATON_ADDR: scheduler.api, NO_COLOR: '1' };
      delete env.FORCE_COLOR;
      const child = spawn(process.execPath, [MAIN, 'events', '--since', '0', '--job', job.id], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        lines = out.split('\n').filter(Boolean);
        if (lines.some((l) => l.includes('succeeded'))) child.kill('SIGTERM');
      });
      child.once('close', () => resolve());
    });
    const last = lines.find((l) => l.includes('succeeded'));
    assert.ok(last, lines.join('\n'));
    // The replay starts after the job ended (a new process): a receive time cannot match to the millisecond.
    assert.equal(last.slice(0, 12), job.updated_at.slice(11, 23), last);
  });

  it('bad flags: one line and exit 1', async () => {
    const r = await baton(['run', '--timeout', '5x', '--', 'true'], scheduler.api);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /option '-t, --timeout <duration>' argument '5x' is invalid\. not a duration; use a number of seconds or a unit, e\.g\. 30s, 5m, 500ms/);
    const n = await baton(['run', '--retries', 'many', '--', 'true'], scheduler.api);
    assert.equal(n.code, 1);
    assert.match(n.stderr, /not a whole number/);
  });

  it('completion prints a bash script naming every subcommand', async () => {
    const r = await baton(['completion', 'bash'], scheduler.api);
    assert.equal(r.code, 0, r.stderr);
    for (const name of ['run', 'drain', 'undrain', 'wait', 'events', 'workers']) assert.match(r.stdout, new RegExp(`\\b${name}\\b`));
    assert.match(r.stdout, /complete -o default -F _baton baton/);
    const bad = await baton(['completion', 'tcsh'], scheduler.api);
    assert.equal(bad.code, 1);
  });

  it('completion prints a fish script: subcommands with descriptions, each one’s flags and choices', async () => {
    const r = await baton(['completion', 'fish'], scheduler.api);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.ok(lines.includes("complete -c baton -n __fish_use_subcommand -f -a ps -d 'List jobs, newest first.'"), r.stdout);
    assert.ok(lines.some((l) => l.startsWith("complete -c baton -n '__fish_seen_subcommand_from run' -l worker -s w -x -a '(__baton_ids workers)' -d ")));
    assert.ok(lines.some((l) => l.startsWith("complete -c baton -n '__fish_seen_subcommand_from ps' -l state -s s -x -a 'waiting queued dispatched running ")));
    assert.ok(lines.some((l) => l.startsWith("complete -c baton -n '__fish_seen_subcommand_from certs' -f -a issue -d ")));
    // Completions, and the one helper function that asks the scheduler for ids.
    for (const line of lines.filter(Boolean)) assert.match(line, /^(#|complete -c baton |function __baton_ids$|end$| {2})/);
  });
});
