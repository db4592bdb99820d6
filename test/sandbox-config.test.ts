// The worker's sandbox set from its TOML config ([worker] in baton.toml): allowed_commands,
// env_allow, limits and their maximums, run_as and allow_root; and a worker that is not root
// refusing what only root can do, with messages that say so. Real processes throughout.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BatonProcess, curlPost, jobsDir, startProcess, startScheduler, startWorker, tempDir, waitForFinal, type SchedulerHandle, type WorkerHandle } from './harness.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const isRoot = process.getuid?.() === 0;
const ROOT_ONLY = isRoot ? false : 'needs root: it starts workers as root and as nobody';
const NOBODY = 65534;

function hasBlkio(): boolean {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[2] === 'cgroup' && (l.split(' ')[3] ?? '').split(',').includes('blkio'));
}

/** A baton.toml in a folder of its own. */
function config(text: string): string {
  const file = path.join(tempDir('baton-config-'), 'baton.toml');
  writeFileSync(file, text);
  chmodSync(path.dirname(file), 0o755);
  chmodSync(file, 0o644);
  return file;
}

async function run(api: string, workerId: string, body: Record<string, unknown>): Promise<{ job: Record<string, unknown>; output: string }> {
  const start = await curlPost(`${api}/v1/jobs`, { worker_id: workerId, ...body });
  assert.equal(start.status, 201, start.text);
  const id = String(start.json.id);
  const job = await waitForFinal(api, id, 60_000);
  return { job, output: await fetch(`${api}/v1/jobs/${id}/output`).then((r) => r.text()) };
}

async function refused(api: string, workerId: string, body: Record<string, unknown>): Promise<string> {
  const res = await curlPost(`${api}/v1/jobs`, { worker_id: workerId, ...body });
  assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.text}`);
  return String(res.json.error);
}

describe('worker config file (baton.toml)', { skip: ROOT_ONLY }, () => {
  let scheduler: SchedulerHandle;
  let strict: WorkerHandle;

  before(async () => {
    scheduler = await startScheduler();
    const file = config(`
[worker]
allowed_commands = ["bash", "/usr/bin/env"]
env_allow = ["PATH"]
max_memory = "256MiB"
default_pids = 64
max_pids = 128
default_io = { write_bps = "32MiB" }
max_io = { write_bps = "64MiB", write_iops = 500 }
`);
    strict = await startWorker(scheduler, { jobsDir: jobsDir({}), args: ['--config', file] });
  });

  it('allowed_commands: a command outside the list is refused, one listed by its path runs', async () => {
    assert.equal(await refused(scheduler.api, strict.id, { command: 'curl' }), `command "curl" is not allowed on worker ${strict.id} (allowed: bash, /usr/bin/env)`);
    assert.equal(
      await refused(scheduler.api, strict.id, { command: 'sh', args: ['-c', 'true'] }),
      `command "sh" is not allowed on worker ${strict.id} (allowed: bash, /usr/bin/env)`,
    );
    // "env" resolves to /usr/bin/env, which is listed; env_allow = ["PATH"] leaves only PATH of the worker's environment.
    const { job, output } = await run(scheduler.api, strict.id, { command: 'env' });
    assert.equal(job.state, 'succeeded', output);
    const names = output
      .trim()
      .split('\n')
      .map((l) => l.slice(0, l.indexOf('=')));
    // PWD (the job's own folder) is set by the sh that puts a job with limits into its cgroups.
    assert.deepEqual(names.filter((n) => n !== 'PWD').sort(), ['BATON_JOB_ID', 'PATH']);
  });

  it('max_* from the file bound requests, default_* apply to jobs that ask for nothing', async () => {
    assert.equal(
      await refused(scheduler.api, strict.id, { command: 'bash', resources: { memory: '512MiB' } }),
      `memory limit 512 MiB is above the maximum of 256 MiB on worker ${strict.id}`,
    );
    assert.equal(
      await refused(scheduler.api, strict.id, { command: 'bash', resources: { pids: 1000 } }),
      `pids limit 1000 processes is above the maximum of 128 processes on worker ${strict.id}`,
    );
    assert.equal(
      await refused(scheduler.api, strict.id, { command: 'bash', resources: { io: { write_iops: 1000 } } }),
      `io.write_iops limit 1000 IOPS is above the maximum of 500 IOPS on worker ${strict.id}`,
    );
    const { job, output } = await run(scheduler.api, strict.id, {
      command: 'bash',
      args: ['-c', 'cat /sys/fs/cgroup/pids$(awk -F: \'$2 == "pids" {print $3}\' /proc/self/cgroup)/pids.max'],
    });
    assert.equal(job.state, 'succeeded', output);
    assert.equal(output.trim(), '64', 'default_pids = 64 from the file');
  });

  it('default_io from the file: a job that asks for nothing is throttled at 32 MiB/s', { skip: hasBlkio() ? false : 'no blkio hierarchy on this machine' }, async () => {
    const { job, output } = await run(scheduler.api, strict.id, {
      command: 'bash',
      args: ['-c', 'cat /sys/fs/cgroup/blkio$(awk -F: \'$2 == "blkio" {print $3}\' /proc/self/cgroup)/blkio.throttle.write_bps_device'],
    });
    assert.equal(job.state, 'succeeded', output);
    assert.match(output.trim(), /^\d+:\d+ 33554432$/);
  });

  it('run_as = "root" without allow_root stops the worker at startup and says why', async () => {
    const file = config('[worker]\nrun_as = "root"\n');
    const proc = startProcess('root worker', [
      'worker',
      '--insecure',
      '--id',
      'r-1',
      '--listen',
      '127.0.0.1:0',
      '--scheduler',
      '127.0.0.1:1',
      '--data-dir',
      tempDir(),
      '--jobs-dir',
      jobsDir({}),
      '--config',
      file,
    ]);
    assert.equal((await proc.exited).code, 1);
    assert.match(proc.output.join(''), /^baton: --run-as root: jobs would run as root; pass --allow-root \(allow_root = true\) if that is really meant$/m);
  });

  it('allow_root = true (and no run_as): jobs run as root, with a warning at startup', async () => {
    const worker = await startWorker(scheduler, { jobsDir: jobsDir({}), args: ['--config', config('[worker]\nallow_root = true\n')] });
    await worker.waitForLog((l) => String(l.msg).startsWith('jobs run as root (--allow-root)'));
    const { output } = await run(scheduler.api, worker.id, { command: 'id', args: ['-u'] });
    assert.equal(output, '0\n');
    // Without allow_root the same worker would run it as nobody (the default).
    const plain = await startWorker(scheduler, { jobsDir: jobsDir({}) });
    assert.equal((await run(scheduler.api, plain.id, { command: 'id', args: ['-u'] })).output, `${NOBODY}\n`);
  });
});

describe('a worker that is not root', { skip: ROOT_ONLY }, () => {
  let scheduler: SchedulerHandle;

  /** `baton worker` run as nobody:nogroup, plaintext on loopback (its certificate key would be root's). */
  function workerAsNobody(name: string, configFile: string): { proc: BatonProcess; id: string } {
    const dataDir = tempDir('baton-nobody-');
    const jobs = jobsDir({});
    chmodSync(dataDir, 0o777);
    chmodSync(jobs, 0o755);
    const id = `nobody-${name}`;
    const args = ['worker', '--insecure', '--id', id, '--listen', '127.0.0.1:0', '--scheduler', scheduler.grpc, '--data-dir', dataDir, '--jobs-dir', jobs, '--config', configFile];
    const child = spawn(process.execPath, [MAIN, ...args], {
      uid: NOBODY,
      gid: NOBODY,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, BATON_LOG_FORMAT: 'json', BATON_LOG_LEVEL: 'info' },
    });
    return { proc: new BatonProcess(name, child), id };
  }

  before(async () => {
    scheduler = await startScheduler({ args: ['--insecure'] });
    assert.ok(existsSync(MAIN));
  });

  it('refuses run_as with a message saying only root can switch users', async () => {
    const { proc } = workerAsNobody('run-as', config('[worker]\nrun_as = "daemon"\n'));
    assert.equal((await proc.exited).code, 1);
    assert.match(proc.output.join(''), new RegExp(`^baton: --run-as daemon needs the worker to run as root \\(it runs as uid ${NOBODY}, and only root can switch users\\)$`, 'm'));
  });

  it('warns that configured limits cannot apply, refuses jobs asking for limits or isolation, runs the rest as itself', async () => {
    const { proc, id } = workerAsNobody('limits', config('[worker]\ndefault_memory = "64MiB"\nmax_memory = "1GiB"\n'));
    const warning = await proc.waitForLog((l) => String(l.msg).startsWith('default resource limits are configured'));
    assert.equal(
      warning.msg,
      `default resource limits are configured but resource limits need cgroups; none are usable on this machine: the worker is not root (uid ${NOBODY}) and cannot create cgroups; jobs run without limits`,
    );
    await proc.waitForLog((l) => l.msg === 'worker registered');

    const noCgroups = `resource limits need cgroups; none are usable on this machine: the worker is not root (uid ${NOBODY}) and cannot create cgroups`;
    assert.equal(await refused(scheduler.api, id, { command: 'true', resources: { memory: '64MiB' } }), noCgroups);
    assert.equal(await refused(scheduler.api, id, { command: 'true', resources: { io: { write_bps: '1MiB' } } }), noCgroups);
    assert.equal(await refused(scheduler.api, id, { command: 'true', network: 'none' }), `network "none" needs the worker to run as root (worker ${id} does not)`);
    assert.equal(await refused(scheduler.api, id, { command: 'true', isolate: true }), `isolate needs the worker to run as root (worker ${id} does not)`);
    // The maximum is still checked before anything else.
    assert.equal(await refused(scheduler.api, id, { command: 'true', resources: { memory: '2GiB' } }), `memory limit 2 GiB is above the maximum of 1 GiB on worker ${id}`);

    const { job, output } = await run(scheduler.api, id, { command: 'id', args: ['-u'] });
    assert.equal(job.state, 'succeeded', output);
    assert.equal(output, `${NOBODY}\n`, 'the default memory limit is dropped, the job runs as the worker user');
    proc.child.kill('SIGTERM');
    assert.equal((await proc.exited).code, 0);
  });
});
