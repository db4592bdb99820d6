import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger } from '../../common/logger.js';
import { SpawnerClient, type SpawnHandlers } from './spawner-client.js';

type Outcome =
  | { kind: 'failed'; stage: string; code?: string; message: string }
  | { kind: 'exited'; code: number | null; signal: string | null }
  | { kind: 'lost'; pid: number | undefined };

const dir = mkdtempSync(path.join(tmpdir(), 'baton-spawner-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const errors: string[] = [];
const log = { debug() {}, info() {}, warn() {}, error: (_obj: unknown, msg: string) => errors.push(msg) } as unknown as Logger;

/** Runs one request; resolves with the pid it was given (if any) and how it ended. */
function run(client: SpawnerClient, jobId: string, program: string, args: string[], outputPath = path.join(dir, `${jobId}.log`)) {
  let pid: number | undefined;
  const ended = new Promise<Outcome>((resolve) => {
    const handlers: SpawnHandlers = {
      spawned: (p) => (pid = p),
      failed: (f) => resolve({ kind: 'failed', ...f }),
      exited: (code, signal) => resolve({ kind: 'exited', code, signal }),
      lost: (p) => resolve({ kind: 'lost', pid: p }),
    };
    client.spawn({ jobId, program, args, cwd: dir, env: { PATH: '/usr/bin:/bin', GREETING: 'hi' }, outputPath }, handlers);
  });
  return { ended, pid: () => pid };
}

function isAlive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('SpawnerClient', () => {
  it('runs a job with its output file and environment, and reports its exit', async () => {
    const client = new SpawnerClient(log);
    const job = run(client, 'ok', '/bin/sh', ['-c', 'echo "$GREETING"; echo oops >&2; exit 3']);
    assert.deepEqual(await job.ended, { kind: 'exited', code: 3, signal: null });
    assert.ok(job.pid()! > 0);
    assert.equal(readFileSync(path.join(dir, 'ok.log'), 'utf8'), 'hi\noops\n');
    await client.close();
  });

  it('reports a program that does not exist, and an output file that cannot be opened', async () => {
    const client = new SpawnerClient(log);
    const missing = await run(client, 'missing', path.join(dir, 'no-such-program'), []).ended;
    assert.equal(missing.kind === 'failed' && missing.stage === 'spawn' && missing.code, 'ENOENT');
    const script = path.join(dir, 'not-executable.sh');
    writeFileSync(script, 'echo hi\n');
    chmodSync(script, 0o644);
    const denied = await run(client, 'denied', script, []).ended;
    assert.equal(denied.kind === 'failed' && denied.code, 'EACCES');
    const noFile = await run(client, 'nofile', '/bin/true', [], path.join(dir, 'no-such-folder', 'x.log')).ended;
    assert.equal(noFile.kind === 'failed' && noFile.stage === 'open' && noFile.code, 'ENOENT');
    await client.close();
  });

  it('reports running jobs as lost when the spawner dies, and starts a new one for the next job', async () => {
    const client = new SpawnerClient(log);
    const job = run(client, 'long', '/bin/sleep', ['30']);
    while (job.pid() === undefined) await new Promise((r) => setTimeout(r, 10));
    const spawnerPid = (client as unknown as { child: { pid: number } }).child.pid;
    process.kill(spawnerPid, 'SIGKILL');
    const outcome = await job.ended;
    assert.deepEqual(outcome, { kind: 'lost', pid: job.pid() });
    process.kill(-job.pid()!, 'SIGKILL'); // the runner does this on 'lost'
    assert.ok(errors.some((e) => e.includes('spawner died')));
    assert.deepEqual(await run(client, 'after', '/bin/true', []).ended, { kind: 'exited', code: 0, signal: null });
    await client.close();
  });

  it('makes new starts wait while 16 spawn requests are unanswered', async () => {
    const client = new SpawnerClient(log);
    await client.whenReady();
    const jobs = Array.from({ length: 16 }, (_, i) => run(client, `burst-${i}`, '/bin/true', []));
    let ready = false;
    const waiting = client.whenReady().then(() => (ready = true));
    // Answers arrive through the event loop, never in between microtasks.
    await Promise.resolve();
    await Promise.resolve();
    assert.equal(ready, false);
    await waiting;
    await Promise.all(jobs.map((j) => j.ended));
    await client.close();
  });

  it('SIGKILLs the groups still running when it is closed', async () => {
    const client = new SpawnerClient(log);
    const job = run(client, 'orphan', '/bin/sleep', ['30']);
    while (job.pid() === undefined) await new Promise((r) => setTimeout(r, 10));
    await client.close();
    // Killed: gone, or a zombie until whoever adopted it reaps it.
    const deadline = Date.now() + 5_000;
    while (isAlive(job.pid()!) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(isAlive(job.pid()!), false);
  });
});
