// The job sandbox on a root worker: the job user, the environment allow-list, allowed
// commands, resource limits through cgroups, and namespaces. Real processes throughout.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startScheduler, startWorker, jobsDir, curlPost, eventually, tempDir, waitForFinal, processesMatching, type SchedulerHandle, type WorkerHandle } from './harness.js';

const isRoot = process.getuid?.() === 0;
const ROOT_ONLY = isRoot ? false : 'needs root: a worker runs jobs as another user and makes cgroups only as root';

/** The memory hierarchy (v1) or the cgroup2 mount with a memory controller, if the machine has one. */
function hasMemoryCgroup(): boolean {
  const mounts = readFileSync('/proc/self/mounts', 'utf8');
  if (
    / cgroup \S*\bmemory\b/.test(
      mounts
        .split('\n')
        .filter((l) => l.split(' ')[2] === 'cgroup')
        .join('\n'),
    )
  )
    return true;
  for (const line of mounts.split('\n')) {
    const [, point, type] = line.split(' ');
    if (type === 'cgroup2' && point && existsSync(`${point}/cgroup.controllers`) && readFileSync(`${point}/cgroup.controllers`, 'utf8').includes('memory')) return true;
  }
  return false;
}
const NO_CGROUPS = !isRoot ? ROOT_ONLY : hasMemoryCgroup() ? false : 'this machine has no usable memory cgroup (neither v1 nor v2)';

/** A v1 blkio hierarchy, or a cgroup2 mount with the io controller. */
function hasIoCgroup(): boolean {
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' '));
  if (mounts.some(([, , type, options]) => type === 'cgroup' && options?.split(',').includes('blkio'))) return true;
  return mounts.some(
    ([, point, type]) =>
      type === 'cgroup2' && point && existsSync(`${point}/cgroup.controllers`) && readFileSync(`${point}/cgroup.controllers`, 'utf8').split(/\s+/).includes('io'),
  );
}
const NO_IO = !isRoot ? ROOT_ONLY : hasIoCgroup() ? false : 'this machine has neither a blkio hierarchy nor a cgroup2 io controller';

/** The whole disk holding `dir`, found with GNU stat and sysfs (independently of the worker's code). */
function diskOf(dir: string): string {
  const device = execFileSync('stat', ['-c', '%Hd:%Ld', dir], { encoding: 'utf8' }).trim();
  const sys = execFileSync('realpath', [`/sys/dev/block/${device}`], { encoding: 'utf8' }).trim();
  return existsSync(`${sys}/partition`) ? readFileSync(`${path.dirname(sys)}/dev`, 'utf8').trim() : device;
}

describe('job sandbox', { skip: ROOT_ONLY }, () => {
  // A sleep length no other process on the machine uses, to find this test's processes.
  const marker = `${400 + randomInt(1000)}.${randomInt(1000)}`;
  const secret = `s3cret-${randomInt(1_000_000)}`;
  let scheduler: SchedulerHandle;
  let worker: WorkerHandle;
  let strict: WorkerHandle;

  before(async () => {
    const jobs = jobsDir({ 'hello.sh': '#!/bin/sh\necho hello from $(id -un)\n' });
    scheduler = await startScheduler();
    // The harness passes its own environment to the worker: this must not reach the jobs.
    process.env.BATON_TEST_WORKER_SECRET = secret;
    try {
      [worker, strict] = await Promise.all([
        startWorker(scheduler, {
          jobsDir: jobs,
          args: ['--max-memory', '1GiB', '--max-pids', '200', '--max-cpu', '1', '--max-io', 'write_bps=64MiB,read_iops=1000', '--env-allow', 'PATH,HOME,LANG,TZ,USER'],
        }),
        startWorker(scheduler, { jobsDir: jobs, args: ['--allowed-command', 'bash', '--allowed-command', 'sh'] }),
      ]);
    } finally {
      delete process.env.BATON_TEST_WORKER_SECRET;
    }
  });

  after(() => undefined);

  async function run(body: Record<string, unknown>, on: WorkerHandle = worker): Promise<{ job: Record<string, unknown>; output: string }> {
    const start = await curlPost(`${scheduler.api}/v1/jobs`, { worker_id: on.id, ...body });
    assert.equal(start.status, 201, start.text);
    const id = String(start.json.id);
    const job = await waitForFinal(scheduler.api, id, 60_000);
    const output = await fetch(`${scheduler.api}/v1/jobs/${id}/output`).then((r) => r.text());
    return { job, output };
  }

  it('runs jobs as nobody:nogroup by default when the worker is root', async () => {
    const { job, output } = await run({ command: 'bash', args: ['-c', 'id -un; id -gn; id -G; echo "HOME=$HOME USER=$USER"'] });
    assert.equal(job.state, 'succeeded', JSON.stringify(job));
    assert.equal(output, 'nobody\nnogroup\n65534\nHOME=/nonexistent USER=nobody\n');
    const script = await run({ command: 'sh', path: 'hello.sh' });
    assert.equal(script.output, 'hello from nobody\n', 'the job user reads the jobs folder');
    assert.match(String((await worker.waitForLog((l) => l.msg === 'worker ready')).run_as), /^nobody:nogroup$/);
  });

  it("keeps the worker's environment out of the job, except the allow-list", async () => {
    const { output } = await run({ command: 'env', env: { MINE: 'yes' } });
    const names = output
      .trim()
      .split('\n')
      .map((l) => l.slice(0, l.indexOf('=')));
    assert.ok(!output.includes(secret), `the worker's secret leaked:\n${output}`);
    assert.deepEqual(
      names.sort(),
      ['BATON_JOB_ID', 'HOME', 'MINE', 'PATH', 'USER']
        .concat(output.includes('\nLANG=') || output.startsWith('LANG=') ? ['LANG'] : [])
        .concat(output.includes('TZ=') ? ['TZ'] : [])
        .sort(),
    );
  });

  it('refuses a command outside allowed_commands with 400', async () => {
    const refused = await curlPost(`${scheduler.api}/v1/jobs`, { worker_id: strict.id, command: 'curl', args: ['http://example.com'] });
    assert.equal(refused.status, 400, refused.text);
    assert.equal(refused.json.error, `command "curl" is not allowed on worker ${strict.id} (allowed: bash, sh)`);
    const missing = await curlPost(`${scheduler.api}/v1/jobs`, { worker_id: strict.id, command: 'no-such-command-xyz' });
    assert.equal(missing.status, 400);
    assert.match(String(missing.json.error), /is not allowed on worker/);
    const { job } = await run({ command: 'bash', args: ['-c', 'true'] }, strict);
    assert.equal(job.state, 'succeeded');
  });

  it('refuses a request above the maximum, or malformed, with 400 naming the limit', async () => {
    const cases: [Record<string, unknown>, string | RegExp][] = [
      [{ memory: '8GiB' }, `memory limit 8 GiB is above the maximum of 1 GiB on worker ${worker.id}`],
      [{ pids: 100_000 }, `pids limit 100000 processes is above the maximum of 200 processes on worker ${worker.id}`],
      [{ cpu: 1.5 }, `cpu limit 1.5 CPUs is above the maximum of 1 CPU on worker ${worker.id}`],
      [{ memory: 'lots' }, /^resources\.memory: memory "lots" is not a size/],
      [{ cpu: -1 }, /^resources\.cpu: cpu must be a positive number/],
      [{ io: { write_bps: '1GiB' } }, `io.write_bps limit 1 GiB/s is above the maximum of 64 MiB/s on worker ${worker.id}`],
      [{ io: { read_iops: 5000 } }, `io.read_iops limit 5000 IOPS is above the maximum of 1000 IOPS on worker ${worker.id}`],
      [{ io: { write_bps: 'fast' } }, /^resources\.io\.write_bps "fast" is not a size/],
      [{ io: { write_iops: 0 } }, /^resources\.io\.write_iops must be a whole number of operations a second/],
    ];
    for (const [resources, error] of cases) {
      const res = await curlPost(`${scheduler.api}/v1/jobs`, { worker_id: worker.id, command: 'true', resources });
      assert.equal(res.status, 400, `${JSON.stringify(resources)}: ${res.text}`);
      if (typeof error === 'string') assert.equal(res.json.error, error);
      else assert.match(String(res.json.error), error);
    }
  });

  it('kills a job over its memory limit and reports "memory limit 64 MiB exceeded"', { skip: NO_CGROUPS }, async () => {
    // Written memory, not just allocated: tail keeps the whole 200 MiB "line" in memory.
    const { job } = await run({ command: 'bash', args: ['-c', 'head -c 200M /dev/zero | tail'], resources: { memory: '64MiB' } });
    assert.equal(job.state, 'failed', JSON.stringify(job));
    assert.equal(job.error, 'memory limit 64 MiB exceeded');
    // A job that outlives the OOM kill of one of its processes and exits 0 has succeeded.
    const survived = await run({ command: 'bash', args: ['-c', 'head -c 200M /dev/zero | tail; echo survived'], resources: { memory: '64MiB' } });
    assert.equal(survived.job.state, 'succeeded', JSON.stringify(survived.job));
    // Within the limit the same job runs fine.
    const small = await run({ command: 'bash', args: ['-c', 'head -c 8M /dev/zero | tail | wc -c'], resources: { memory: '64MiB' } });
    assert.equal(small.job.state, 'succeeded', JSON.stringify(small.job));
    assert.equal(small.output.trim(), String(8 * 1024 ** 2));
  });

  it('stops a fork loop at its process limit; the worker lives on and runs the next job', { skip: NO_CGROUPS }, async () => {
    // dash gives up at the first fork that fails ("Cannot fork"): bounded either way.
    const started = Date.now();
    const { job, output } = await run({
      command: 'sh',
      args: ['-c', `i=0; while [ $i -lt 150 ]; do sleep ${marker} & i=$((i+1)); done; echo all $i started`],
      resources: { pids: 20 },
    });
    assert.equal(job.state, 'failed', `${JSON.stringify(job)}\n${output}`);
    assert.match(output, /Cannot fork|Resource temporarily unavailable/);
    assert.ok(!output.includes('all 150 started'));
    assert.ok(Date.now() - started < 30_000);
    await eventually(async () => ((await processesMatching(`sleep ${marker}`)).length === 0 ? true : undefined), 'the sleeps of the fork loop to be killed');
    const next = await run({ command: 'bash', args: ['-c', 'echo next'] });
    assert.equal(next.job.state, 'succeeded');
    assert.equal(next.output, 'next\n');
  });

  it('kills what a job left in its cgroup, even a process that called setsid', { skip: NO_CGROUPS }, async () => {
    const { job } = await run({ command: 'bash', args: ['-c', `setsid sleep ${marker}9 & sleep 0.2; echo left`], resources: { pids: 50 } });
    assert.equal(job.state, 'succeeded');
    await eventually(async () => ((await processesMatching(`sleep ${marker}9`)).length === 0 ? true : undefined), 'the setsid process to be killed');
  });

  it('stops jobs as they start (200, stopped) and leaves no cgroup behind, stdin or not', { skip: NO_CGROUPS }, async () => {
    // 24 jobs stopped at once after their 201s. A stop can land before the job's start reached
    // the worker (its cgroup is made first: the widest window), while its stdin file is written,
    // or while the spawner starts it: each must answer 200, end the job stopped, remove its cgroup.
    const stdin = Buffer.alloc(512 * 1024, 'x').toString('base64');
    const ids = await Promise.all(
      Array.from({ length: 24 }, async (_, i) => {
        const res = await curlPost(`${scheduler.api}/v1/jobs`, {
          worker_id: worker.id,
          command: 'sleep',
          args: [`${marker}8`],
          resources: { pids: 50 },
          ...(i % 2 === 0 && { stdin }),
        });
        assert.equal(res.status, 201, res.text);
        const id = String(res.json.id);
        const stop = await curlPost(`${scheduler.api}/v1/jobs/${id}/stop`, {});
        assert.equal(stop.status, 200, stop.text);
        return id;
      }),
    );
    for (const id of ids) assert.equal((await waitForFinal(scheduler.api, id)).state, 'stopped');
    const left = (): string[] =>
      execFileSync('find', ['/sys/fs/cgroup', '-mindepth', '2', '-maxdepth', '8', '-type', 'd', '-path', `*/baton/${worker.id}/*`], { encoding: 'utf8' })
        .split('\n')
        .filter((d) => ids.some((id) => d.endsWith(`/${id}`)));
    await eventually(async () => (left().length === 0 ? true : undefined), "the stopped jobs' cgroups to be removed", 20_000).catch(() => assert.deepEqual(left(), []));
    assert.deepEqual(await processesMatching(`sleep ${marker}8`), []);
  });

  it('sets the CPU quota', { skip: NO_CGROUPS }, async () => {
    const v1 = "awk -F: '$2 ~ /(^|,)cpu(,|$)/ {print $3}' /proc/self/cgroup";
    const { job, output } = await run({
      command: 'bash',
      args: ['-c', `d=$(${v1}); if [ -n "$d" ]; then cat /sys/fs/cgroup/cpu$d/cpu.cfs_quota_us; else cat /sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup)/cpu.max; fi`],
      resources: { cpu: 0.5 },
    });
    assert.equal(job.state, 'succeeded', output);
    assert.match(output.trim(), /^(50000|50000 100000)$/);
  });

  it("throttles a job's disk writes on the worker's disk: the job's cgroup has the limit and counts its writes", { skip: NO_IO }, async () => {
    const out = tempDir('baton-io-');
    chmodSync(out, 0o777); // the job runs as nobody
    const disk = diskOf(worker.dataDir);
    // The job reports the limit its own cgroup carries, writes 2 MiB with O_DIRECT (v1 throttles
    // only I/O the job itself issues: direct or synced, not the kernel's later writeback),
    // then reports what its cgroup counted on that disk.
    const script = `
      d=$(awk -F: '$2 ~ /(^|,)blkio(,|$)/ {print $3}' /proc/self/cgroup)
      if [ -n "$d" ]; then c=/sys/fs/cgroup/blkio$d; cat $c/blkio.throttle.write_bps_device; else c=/sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup); cat $c/io.max; fi
      dd if=/dev/zero of=${out}/data bs=64k count=32 oflag=direct status=none || exit 1
      if [ -n "$d" ]; then grep '^${disk} Write ' $c/blkio.throttle.io_service_bytes; else grep '^${disk} ' $c/io.stat; fi`;
    const { job, output } = await run({ command: 'bash', args: ['-c', script], resources: { io: { write_bps: '8MiB' } } });
    assert.equal(job.state, 'succeeded', `${JSON.stringify(job)}\n${output}`);
    const [limit, counted] = output.trim().split('\n');
    assert.match(limit!, new RegExp(`^${disk} (8388608|rbps=max wbps=8388608 riops=max wiops=max)$`), output);
    const written = Number(/ Write (\d+)$/.exec(counted!)?.[1] ?? /wbytes=(\d+)/.exec(counted!)?.[1]);
    assert.ok(written >= 2 * 1024 ** 2, `the cgroup counted ${written} bytes written to ${disk}: ${output}`);
    // Without io limits the job gets no blkio cgroup of its own (the control for the above).
    const plain = await run({ command: 'bash', args: ['-c', "awk -F: '$2 ~ /(^|,)blkio(,|$)/ {print $3}' /proc/self/cgroup"], resources: { pids: 50 } });
    assert.ok(!plain.output.includes(`/baton/${worker.id}/`), plain.output);
  });

  it('network "none": the job cannot reach the scheduler; isolate: it is pid 1 of its own namespace', async () => {
    const port = new URL(scheduler.api).port;
    const connect = `exec 3<>/dev/tcp/127.0.0.1/${port} && echo connected`;
    const open = await run({ command: 'bash', args: ['-c', connect] });
    assert.equal(open.output, 'connected\n', 'control: without isolation the port is reachable');
    const closed = await run({ command: 'bash', args: ['-c', connect], network: 'none' });
    assert.equal(closed.job.state, 'failed', closed.output);
    assert.ok(!closed.output.includes('connected\n'), closed.output);
    const isolated = await run({ command: 'bash', args: ['-c', 'echo pid=$$; id -un; ls /proc | grep -c "^[0-9]"'], isolate: true, network: 'none', resources: { pids: 50 } });
    assert.equal(isolated.job.state, 'succeeded', isolated.output);
    const [pid, user, count] = isolated.output.trim().split('\n');
    assert.equal(pid, 'pid=1');
    assert.equal(user, 'nobody');
    assert.ok(Number(count) <= 3, `only the job's own processes in its /proc, saw ${count}`);
  });
});
