// `baton dev` (what `npm start` runs): a whole local cluster that keeps its workers running,
// stays quiet on a normal start, and stops cleanly on a terminal's Ctrl-C.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { BatonProcess, tempDir, jobsDir, freePort, curlPost, getJson, waitForFinal, processesMatching, eventually } from './harness.js';
import { baton, MAIN } from './support/cli.js';

/**
 * `baton dev` in a process group of its own, as a shell runs it on a terminal: `interrupt()`
 * is Ctrl-C there, a SIGINT to every process of the group. Logging as a user has it (no
 * BATON_LOG_* from the test's environment) unless `env` says otherwise.
 */
function startDev(args: string[], env: Record<string, string> = {}): BatonProcess & { stdout: () => string[]; interrupt: () => void } {
  const base = { ...process.env };
  delete base.BATON_LOG_LEVEL;
  delete base.BATON_LOG_FORMAT;
  const child = spawn(process.execPath, [MAIN, 'dev', ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...base, ...env } });
  let text = '';
  const dev = new BatonProcess('dev', child);
  child.stdout.on('data', (chunk: string) => (text += chunk));
  const stdout = (): string[] => text.split('\n').filter(Boolean);
  return Object.assign(dev, { stdout, interrupt: () => process.kill(-child.pid!, 'SIGINT') });
}

describe('npm start', () => {
  it('ends with the cluster it started: the process npm signals is baton dev itself, and it exits only once the cluster is stopped', async () => {
    const root = path.resolve(path.dirname(MAIN), '../../..');
    const script = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
    // What runs once the build is done, as npm runs a script (sh -c, its arguments appended); npm forwards a SIGTERM (`timeout npm start`) to that shell.
    const run = script.split('&&').at(-1)!.trim();
    const [http, grpc, workerPort] = await Promise.all([freePort(), freePort(), freePort()]);
    const dataDir = tempDir('baton-npm-start-');
    const args = ['--http', `127.0.0.1:${http}`, '--grpc', `127.0.0.1:${grpc}`, '--worker-port', String(workerPort), '--data-dir', dataDir];
    const shell = new BatonProcess('npm start', spawn('sh', ['-c', `${run} ${args.join(' ')}`], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] }));
    await shell.waitForText('Ctrl-C stops everything');
    shell.child.kill('SIGTERM');
    await shell.exited;
    assert.deepEqual(await processesMatching(dataDir), [], 'no scheduler, worker or baton dev left once the process npm waits for has exited');
  });
});

describe('baton dev', () => {
  it('starts quietly, restarts a worker that dies, and stops all of it on a terminal Ctrl-C', async () => {
    const [http, grpc, workerPort] = await Promise.all([freePort(), freePort(), freePort()]);
    const api = `http://127.0.0.1:${http}`;
    const dataDir = tempDir('baton-dev-');
    const marker = `${400 + randomInt(1000)}.${randomInt(1000)}`;
    const jobs = jobsDir({ 'long.sh': `#!/bin/bash\nsleep ${marker}\n` });
    const args = ['--http', `127.0.0.1:${http}`, '--grpc', `127.0.0.1:${grpc}`, '--worker-port', String(workerPort), '--data-dir', dataDir, '--jobs-dir', jobs];
    const dev = startDev(args);
    await dev.waitForText('Ctrl-C stops everything');
    const banner = dev.output.join('\n');
    assert.match(banner, new RegExp(`http://127\\.0\\.0\\.1:${http}`));
    assert.match(banner, /worker-1, worker-2/);
    // Its own CA and certificates, made on first run: mutual TLS even in dev, keys private.
    assert.match(banner, /gRPC security\s+mutual TLS 1\.3/);
    for (const name of ['ca', 'scheduler', 'worker-worker-1', 'worker-worker-2']) {
      assert.equal(statSync(path.join(dataDir, 'certs', `${name}.key`)).mode & 0o777, 0o600, `${name}.key`);
      assert.ok(existsSync(path.join(dataDir, 'certs', `${name}.crt`)), `${name}.crt`);
    }
    assert.match(banner, /curl -s -XPOST .*\/start -d '\{"worker_id":"worker-1","command":"bash","path":"count.sh"\}'/);

    const { json } = await getJson(`${api}/v1/workers`);
    assert.deepEqual((json.workers as { id: string }[]).map((w) => w.id).sort(), ['worker-1', 'worker-2']);
    // A job's own failure is no warning.
    assert.equal((await baton(['run', '--', 'bash', '-c', 'exit 7'], { api })).code, 7);

    // A worker that dies is started again, with its id, and the cluster goes on; the job it ran goes on too.
    const kept = await curlPost(`${api}/start`, { worker_id: 'worker-1', command: 'bash', path: 'long.sh' });
    assert.equal(kept.status, 201);
    const keptId = String(kept.json.job_id);
    await eventually(async () => ((await getJson(`${api}/v1/jobs/${keptId}`)).json.state === 'running' ? true : undefined), 'the job on worker-1 to run');
    const [worker1] = await processesMatching(`${path.join(dataDir, 'worker-1')} --jobs-dir`);
    assert.ok(worker1, 'worker-1 runs');
    const firstRegistration = (await getJson(`${api}/v1/workers/worker-1`)).json.registered_at;
    process.kill(Number(worker1.split(' ')[0]), 'SIGKILL');
    await dev.waitForText('worker-1 exited (SIGKILL); starting it again in 1s');
    // Up again means registered again: until the scheduler notices the death, the old registration still reads `up`.
    await eventually(async () => {
      const { json: w } = await getJson(`${api}/v1/workers/worker-1`);
      return w.state === 'up' && w.registered_at !== firstRegistration ? true : undefined;
    }, 'worker-1 to register again');
    const [again1] = await processesMatching(`${path.join(dataDir, 'worker-1')} --jobs-dir`);
    assert.ok(again1 !== undefined && again1 !== worker1, 'a new worker-1 process');
    await eventually(async () => ((await getJson(`${api}/v1/jobs/${keptId}`)).json.state === 'running' ? true : undefined), 'the job taken back by the new worker-1');
    const keptJob = (await getJson(`${api}/v1/jobs/${keptId}`)).json;
    assert.equal((keptJob.attempts as unknown[]).length, 1, 'the same attempt, not a retry');
    assert.equal((await processesMatching(`sleep ${marker}`)).length, 1, 'the job process lived through the restart');

    const start = await curlPost(`${api}/start`, { worker_id: 'worker-2', command: 'bash', path: 'long.sh' });
    assert.equal(start.status, 201);
    const jobId = String(start.json.job_id);
    await eventually(async () => ((await getJson(`${api}/v1/jobs/${jobId}`)).json.state === 'running' ? true : undefined), 'the job to run');

    dev.interrupt();
    const exit = await dev.exited;
    assert.equal(exit.code, 0);
    assert.equal(dev.output.join('\n').match(/stopping the cluster/g)?.length, 1, dev.output.join('\n'));
    assert.doesNotMatch(dev.output.join('\n'), /again; killing/);
    assert.deepEqual(await processesMatching(dataDir), [], 'no scheduler or worker process left');
    assert.deepEqual(await processesMatching(`sleep ${marker}`), [], 'no job process left');
    // Quiet by default, JSON when piped: no line at all on a normal start, a failed job and a stop.
    assert.deepEqual(dev.stdout(), []);

    // With -v every event is one line, after its process's name (the terminal format, forced).
    const verbose = startDev([...args, '-v'], { BATON_LOG_FORMAT: 'pretty' });
    await verbose.waitForText('Ctrl-C stops everything');
    // The job was recorded as stopped before the cluster went down, not lost.
    const job = await waitForFinal(api, jobId);
    assert.equal(job.state, 'stopped');
    verbose.interrupt();
    assert.equal((await verbose.exited).code, 0);
    const lines = verbose.stdout();
    assert.ok(lines.length > 5, lines.join('\n'));
    const strip = (line: string): string => line.replace(/\x1b\[[0-9;]*m/g, '');
    for (const line of lines.map(strip)) assert.match(line, /^(scheduler|worker-1 |worker-2 ) \| \[\d\d:\d\d:\d\d\.\d{3}\] (INFO|WARN|ERROR): \S.*$/);
    assert.ok(!lines.some((l) => /ECONNREFUSED/.test(l)), 'the workers start once the scheduler answers');
  });
});
