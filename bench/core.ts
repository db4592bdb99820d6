/**
 * Issue 2's figures: Node's own spawn('true') rate (the ceiling for jobs that start a
 * process), Baton end to end with one worker and two, and POST /start latency.
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { startScheduler, startWorker, jobsDir, cleanUp, type SchedulerHandle, type WorkerHandle } from '../test/support/cluster.js';
import { allJobs, latestUpdate, post, waitIdle } from './http.js';
import { cpuSeconds, dropLogs } from './proc.js';
import { fmt, type Section } from './report.js';
import { percentile, runPool } from './stats.js';

export const JOBS = Number(process.env.BENCH_JOBS ?? 1000);
export const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const LATENCY_SAMPLES = Number(process.env.BENCH_LATENCY_SAMPLES ?? 500);
/**
 * Jobs run before measuring: a fresh scheduler's CPU per job falls by more than half over its
 * first few thousand jobs, and a scheduler serves warm. Mostly V8 optimising the per-job code
 * on its compiler threads, which count in the scheduler's CPU: in 1,000-job blocks of the e2e
 * scenario (load 6-12), 118, 72, 54, 17, 14, 6, 2, 5 functions compiled, and CPU per job 1.17,
 * 0.85, 0.67, 0.48, 0.45, 0.49, 0.42, 0.43 ms: after 2,000 jobs it was still half above the
 * steady figure.
 */
export const WARMUP = Number(process.env.BENCH_WARMUP ?? 6000);
/**
 * Measured windows of JOBS jobs after the warm-up, one after the other; the best of each
 * figure is kept, as in the peer scenario: the machine is shared, and what other work takes
 * of it only ever adds to a window's time and CPU.
 */
const ROUNDS = Number(process.env.BENCH_E2E_ROUNDS ?? 3);

/**
 * Node's own spawn('true') rate with the same concurrency: the baseline issue 2 set, "the
 * ceiling for jobs that start a process" while jobs were forked. Baton's spawner now
 * vfork()s (native/spawn.c), which costs a fraction of Node's fork, so Baton may pass it.
 */
export async function rawSpawnRate(n: number): Promise<number> {
  return (await rawSpawn(n)).rate;
}

/** Node's own spawn('true'), 8 in flight: its rate, and the CPU this process spent per spawn (ms). */
async function rawSpawn(n: number): Promise<{ rate: number; cpuMs: number }> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await runPool(
    n,
    CONCURRENCY,
    () =>
      new Promise<void>((resolve, reject) => {
        const child = spawn('true', ['noop.sh'], { stdio: 'ignore', detached: true });
        child.once('error', reject);
        child.once('exit', () => resolve());
      }),
  );
  const cpu = process.cpuUsage(cpu0);
  return { rate: n / ((performance.now() - t0) / 1000), cpuMs: (cpu.user + cpu.system) / 1000 / n };
}

function spawnerOf(worker: WorkerHandle): number | undefined {
  try {
    const kids = execFileSync('pgrep', ['-P', String(worker.pid)], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map(Number);
    return kids.find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('spawner'));
  } catch {
    return undefined;
  }
}

async function submitAll(scheduler: SchedulerHandle, workerIds: string[], n: number): Promise<void> {
  await runPool(n, CONCURRENCY, async (i) => {
    await post(`${scheduler.api}/start`, { worker_id: workerIds[i % workerIds.length], command: 'true', path: 'noop.sh' });
  });
}

interface Window {
  rate: number;
  /** CPU milliseconds per job in the scheduler, the workers and their spawners. */
  cpu: { scheduler: number; workers: number; spawners: number };
}

interface E2e {
  /** Each measured window, in order. */
  windows: Window[];
  /** Jobs of the whole run (warm-up included) that did not succeed. */
  failed: number;
}

/**
 * Jobs submitted with POST /start and recorded finished by the scheduler, per second, in
 * ROUNDS windows of `n` jobs one after the other on the same warmed-up cluster.
 */
async function batonRate(workers: number, n: number): Promise<E2e> {
  const jobs = jobsDir({ 'noop.sh': '' });
  const scheduler = await startScheduler();
  const handles = (await Promise.all(Array.from({ length: workers }, () => startWorker(scheduler, { jobsDir: jobs, args: ['--capacity', '256'] })))).map(dropLogs);
  dropLogs(scheduler);
  const ids = handles.map((w) => w.id);
  await submitAll(scheduler, ids, WARMUP);
  await waitIdle(scheduler.api);
  const spawners = handles.map(spawnerOf).filter((p): p is number => p !== undefined);
  const cpu = (): number[] => [cpuSeconds(scheduler.pid), ...handles.map((w) => cpuSeconds(w.pid)), ...spawners.map(cpuSeconds)];
  // Nothing is asked of the scheduler between the warm-up and the windows but the jobs: a
  // listing of the jobs made between two windows left its garbage to be collected in the next.
  const starts: number[] = [];
  const used: number[][] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const cpu0 = cpu();
    starts.push(Date.now());
    await submitAll(scheduler, ids, n);
    await waitIdle(scheduler.api);
    used.push(cpu().map((c, i) => ((c - cpu0[i]!) * 1000) / n));
  }
  // Listed once, after: each window's jobs (those created after it started) and when the last was recorded.
  const listed = await allJobs(scheduler.api);
  await cleanUp();
  const sum = (per: number[], from: number, count: number): number => per.slice(from, from + count).reduce((a, b) => a + b, 0);
  const windows = starts.map((t0, k): Window => {
    const next = starts[k + 1] ?? Number.POSITIVE_INFINITY;
    const elapsed = latestUpdate(listed.filter((j) => Date.parse(j.created_at) >= t0 && Date.parse(j.created_at) < next)) - t0;
    const per = used[k]!;
    return { rate: n / (elapsed / 1000), cpu: { scheduler: per[0]!, workers: sum(per, 1, workers), spawners: sum(per, 1 + workers, spawners.length) } };
  });
  return { windows, failed: WARMUP + ROUNDS * n - listed.filter((j) => j.state === 'succeeded').length };
}

/** The best window's rate, the CPU split of the window whose scheduler used least, and each window's figures as text. */
function best(run: E2e): { rate: number; cpu: Window['cpu']; failed: number; rates: string; schedulerCpus: string } {
  const leanest = run.windows.reduce((a, b) => (b.cpu.scheduler < a.cpu.scheduler ? b : a));
  return {
    rate: Math.max(...run.windows.map((w) => w.rate)),
    cpu: leanest.cpu,
    failed: run.failed,
    rates: run.windows.map((w) => fmt(w.rate)).join(', '),
    schedulerCpus: run.windows.map((w) => fmt(w.cpu.scheduler, 2)).join(', '),
  };
}

/** POST /start latency, one request at a time, on an idle one-worker cluster. */
async function startLatency(samples: number): Promise<{ p50: number; p99: number }> {
  const jobs = jobsDir({ 'noop.sh': '' });
  const scheduler = await startScheduler();
  const worker = dropLogs(await startWorker(scheduler, { jobsDir: jobs, args: ['--capacity', '256'] }));
  dropLogs(scheduler);
  await submitAll(scheduler, [worker.id], WARMUP);
  await waitIdle(scheduler.api);
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    await post(`${scheduler.api}/start`, { worker_id: worker.id, command: 'true', path: 'noop.sh' });
    times.push(performance.now() - t0);
  }
  await cleanUp();
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

export const CORE_SCENARIOS = ['e2e', 'latency'] as const;

export async function core(only?: (typeof CORE_SCENARIOS)[number]): Promise<Section> {
  const rows: Section['rows'] = [];
  if (only === undefined || only === 'e2e') {
    await rawSpawnRate(100); // warm up
    const { rate: raw1, cpuMs: spawnCpuMs } = await rawSpawn(JOBS);
    console.log(`  raw spawn('true')        ${fmt(raw1)} /s`);
    const one = best(await batonRate(1, JOBS));
    console.log(`  baton, 1 worker          ${one.rates} jobs/s`);
    const two = best(await batonRate(2, JOBS));
    console.log(`  baton, 2 workers         ${two.rates} jobs/s`);
    const raw2 = await rawSpawnRate(JOBS);
    console.log(`  raw spawn('true') again  ${fmt(raw2)} /s`);
    if (one.failed || two.failed) console.log(`  warning: ${one.failed + two.failed} jobs did not succeed`);
    const raw = (raw1 + raw2) / 2;
    rows.push(
      {
        measure: "raw `child_process.spawn('true')` rate (before / after)",
        figure: `${fmt(raw1)} / ${fmt(raw2)} per s`,
        target: "the baseline: Node's own spawn (Baton vfork()s, so it may pass it)",
      },
      {
        measure: 'Baton end-to-end, 1 worker',
        figure: `${fmt(one.rate)} jobs/s (${fmt(one.rate / raw, 2)} of raw; best of ${one.rates})`,
        target: '≥ 0.9 of raw',
        met: one.rate / raw >= 0.9 && one.failed === 0,
      },
      {
        measure: 'Baton end-to-end, 2 workers',
        figure: `${fmt(two.rate)} jobs/s (${fmt(two.rate / raw, 2)} of raw, ${fmt(two.rate / one.rate, 2)}× 1 worker; best of ${two.rates})`,
        target: 'reported, not a target: on 2 cores a second worker adds processes, not cores',
      },
      {
        measure: 'CPU per job, 1 worker: scheduler / worker / spawner',
        figure: `${fmt(one.cpu.scheduler, 2)} / ${fmt(one.cpu.workers, 2)} / ${fmt(one.cpu.spawners, 2)} ms`,
        target: 'where the time goes',
      },
      {
        // The target is absolute; Node's CPU per spawn in the same run says how fast this machine is at such work.
        measure: 'scheduler CPU per job, end to end, 1 worker',
        figure: `${fmt(one.cpu.scheduler, 2)} ms (best of ${one.schedulerCpus}; Node's own CPU per spawn('true') in this run: ${fmt(spawnCpuMs, 2)} ms)`,
        target: '≤ 0.5 ms',
        met: one.cpu.scheduler <= 0.5,
      },
    );
  }
  if (only === undefined || only === 'latency') {
    const latency = await startLatency(LATENCY_SAMPLES);
    // The targets hold on a quiet machine: the load average says how quiet this one was.
    const load = `load ${os
      .loadavg()
      .map((l) => fmt(l, 2))
      .join(' ')}`;
    rows.push(
      { measure: '`POST /start` latency, p50', figure: `${fmt(latency.p50, 2)} ms (${load})`, target: '≤ 3 ms on a quiet machine', met: latency.p50 <= 3 },
      { measure: '`POST /start` latency, p99', figure: `${fmt(latency.p99, 2)} ms (${load})`, target: '≤ 10 ms on a quiet machine', met: latency.p99 <= 10 },
    );
  }
  return {
    title: 'Core: jobs that start a process (issues 2 and 20)',
    method: `${JOBS} jobs of \`true\` (\`BENCH_JOBS\`), ${CONCURRENCY} submissions in flight (\`BENCH_CONCURRENCY\`), submitted with \`POST /start\` naming the worker (spread over the workers), counted done when the scheduler has recorded their exit (its \`updated_at\`), in ${ROUNDS} windows one after the other (\`BENCH_E2E_ROUNDS\`), the best of each figure kept; mTLS between scheduler and workers, SQLite store. Latency: ${LATENCY_SAMPLES} sequential requests (\`BENCH_LATENCY_SAMPLES\`) on an idle cluster with one worker. Both after ${WARMUP} jobs to warm up (\`BENCH_WARMUP\`): a fresh scheduler's CPU per job falls by more than half over its first few thousand (V8 optimising the per-job code). CPU per job from /proc/<pid>/stat over the measured run.`,
    rows,
  };
}
