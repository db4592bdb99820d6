import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger } from '../../common/logger.js';
import { PROTOCOL_VERSION } from './messages.js';
import { SpawnerClient, type SpawnHandlers } from './spawner-client.js';

type Outcome =
  | { kind: 'failed'; stage: string; code?: string; message: string }
  | { kind: 'exited'; code: number | null; signal: string | null }
  | { kind: 'lost'; pid: number | undefined };

const dir = mkdtempSync(path.join(tmpdir(), 'baton-spawner-'));
/** Frozen: the first line a worker of the pipe protocol (before PROTOCOL_VERSION) sent. */
const OLD_CLIENT = `
  const socket = require('node:net').connect(process.argv[1]);
  socket.write(JSON.stringify({ type: 'spawn', jobId: 'old', program: '/bin/true', args: [], cwd: '/', env: {}, outputPath: '/dev/null' }) + '\\n');
  socket.setEncoding('utf8');
  socket.on('data', (d) => process.stdout.write(d));
`;
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
    client.spawn({ jobId, program, args, cwd: dir, env: { PATH: '/usr/bin:/bin', GREETING: 'hi' }, outputPath, meta: { command: program, timeoutMs: 0 } }, handlers);
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

/** A client connected to a supervisor of its own (a fresh data folder). */
async function connected(dataDir = mkdtempSync(path.join(dir, 'data-'))): Promise<SpawnerClient> {
  const client = new SpawnerClient(log, { workerId: 'w-test', dataDir, windowMs: 60_000, graceMs: 1_000 });
  await client.connect();
  return client;
}

describe('SpawnerClient', () => {
  it('leaves its jobs running when it detaches; the next client is told of them, hears their end, and the end is on disk first', async () => {
    const dataDir = mkdtempSync(path.join(dir, 'data-'));
    const first = await connected(dataDir);
    const fifo = path.join(dataDir, 'go.fifo');
    execFileSync('mkfifo', [fifo]);
    const job = run(first, 'kept', '/bin/sh', ['-c', `read line < ${fifo}; exit 7`]);
    while (job.pid() === undefined) await new Promise((r) => setTimeout(r, 10));
    first.detach();
    assert.ok(isAlive(job.pid()!), 'the job outlives the client');
    const second = new SpawnerClient(log, { workerId: 'w-test', dataDir, windowMs: 60_000, graceMs: 1_000 });
    const running = await second.connect();
    assert.deepEqual(
      running.map((j) => [j.jobId, j.pid]),
      [['kept', job.pid()]],
    );
    const ended = new Promise<unknown>((resolve) =>
      second.adopt('kept', {
        spawned: () => {},
        failed: resolve,
        lost: resolve,
        exited: (code, signal) => resolve({ code, signal, record: readdirSync(path.join(dataDir, 'ends')) }),
      }),
    );
    writeFileSync(fifo, 'go\n');
    assert.deepEqual(await ended, { code: 7, signal: null, record: ['kept.json'] });
    await second.close();
  });

  it('a client of another protocol version, or of another worker id, is refused with what to do, and the jobs go on', async () => {
    const dataDir = mkdtempSync(path.join(dir, 'data-'));
    const client = await connected(dataDir);
    const job = run(client, 'versioned', '/bin/sleep', ['30']);
    while (job.pid() === undefined) await new Promise((r) => setTimeout(r, 10));
    client.detach();
    // The message of the release before the handshake existed: a spawn request as the first line.
    const answer = execFileSync(process.execPath, ['-e', OLD_CLIENT, path.join(dataDir, 'supervisor.sock')], { encoding: 'utf8' });
    assert.match(answer, new RegExp(`"type":"refused".*protocol versions 1 to ${PROTOCOL_VERSION}, the worker sent a 'spawn' before 'hello'`));
    assert.ok(isAlive(job.pid()!));
    const again = new SpawnerClient(log, { workerId: 'w-test', dataDir, windowMs: 60_000, graceMs: 1_000 });
    assert.deepEqual(
      (await again.connect()).map((j) => j.jobId),
      ['versioned'],
    );
    again.adopt('versioned', { spawned: () => {}, failed: () => {}, lost: () => {}, exited: () => {} });
    await again.close();
  });

  it('runs a job with its output file and environment, and reports its exit', async () => {
    const client = await connected();
    const job = run(client, 'ok', '/bin/sh', ['-c', 'echo "$GREETING"; echo oops >&2; exit 3']);
    assert.deepEqual(await job.ended, { kind: 'exited', code: 3, signal: null });
    assert.ok(job.pid()! > 0);
    assert.equal(readFileSync(path.join(dir, 'ok.log'), 'utf8'), 'hi\noops\n');
    await client.close();
  });

  it('reports a program that does not exist, and an output file that cannot be opened', async () => {
    const client = await connected();
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
    const client = await connected();
    const job = run(client, 'long', '/bin/sleep', ['30']);
    while (job.pid() === undefined) await new Promise((r) => setTimeout(r, 10));
    process.kill(client.supervisorPid!, 'SIGKILL');
    const outcome = await job.ended;
    assert.deepEqual(outcome, { kind: 'lost', pid: job.pid() });
    process.kill(-job.pid()!, 'SIGKILL'); // the runner does this on 'lost'
    assert.ok(errors.some((e) => e.includes('supervisor died')));
    assert.deepEqual(await run(client, 'after', '/bin/true', []).ended, { kind: 'exited', code: 0, signal: null });
    await client.close();
  });

  it('makes new starts wait while 16 spawn requests are unanswered', async () => {
    const client = await connected();
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
    const client = await connected();
    const job = run(client, 'orphan', '/bin/sleep', ['30']);
    while (job.pid() === undefined) await new Promise((r) => setTimeout(r, 10));
    await client.close();
    // Killed: gone, or a zombie until whoever adopted it reaps it.
    const deadline = Date.now() + 5_000;
    while (isAlive(job.pid()!) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(isAlive(job.pid()!), false);
  });
});
