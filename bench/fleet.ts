/**
 * Issue 3's figures, the scheduler measured alone against simulated workers (./sim/), and
 * the idle-cluster submit → process start latency with real workers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startScheduler, startWorker, jobsDir, cleanUp, freePort, type LogLine, type SchedulerHandle, type WorkerHandle } from '../test/support/cluster.js';
import { freshDatabase } from '../test/support/postgres.js';
import { allJobs, get, lastRecorded, post, waitIdle } from './http.js';
import { WARMUP } from './core.js';
import { cpuSeconds, dropLogs, rssMiB } from './proc.js';
import { fmt, type Row, type Section } from './report.js';
import { percentile, runPool } from './stats.js';

const DISPATCH_JOBS = Number(process.env.BENCH_DISPATCH_JOBS ?? 20_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 500);
const BATCHES_IN_FLIGHT = Number(process.env.BENCH_BATCHES_IN_FLIGHT ?? 4);
const DISPATCH_WORKERS = Number(process.env.BENCH_DISPATCH_WORKERS ?? 100);
const HEARTBEAT_WORKERS = Number(process.env.BENCH_HEARTBEAT_WORKERS ?? 1000);
const HEARTBEAT_SECONDS = Number(process.env.BENCH_HEARTBEAT_SECONDS ?? 20);
const QUEUE_JOBS = Number(process.env.BENCH_QUEUE_JOBS ?? 100_000);
const IDLE_SAMPLES = Number(process.env.BENCH_IDLE_SAMPLES ?? 200);
const RECONNECT_ROUNDS = Number(process.env.BENCH_RECONNECT_ROUNDS ?? 5);
const STORE_JOBS = Number(process.env.BENCH_STORE_JOBS ?? 5_000);
const STORE_ROUNDS = Number(process.env.BENCH_STORE_ROUNDS ?? 3);
/** How long the scheduler stays dead in each round: long enough for the workers' backoff to reach its cap. */
const RECONNECT_DOWN_MS = 4_000;

const SIM = fileURLToPath(new URL('./sim/sim-workers.js', import.meta.url));
/** Simulated workers per process: a few processes share the load of a thousand servers. */
const SIMS_PER_PROCESS = 250;
const sims = new Set<ChildProcess>();

/** How simulated workers heartbeat: on the Heartbeats stream (as workers do) or with unary Heartbeat calls. */
type HeartbeatMode = 'stream' | 'unary';

/** Starts `count` simulated workers of `scheduler`; resolves when all have registered. */
export async function startSims(scheduler: SchedulerHandle, count: number, heartbeats: HeartbeatMode = 'stream'): Promise<void> {
  const starts: Promise<void>[] = [];
  for (let first = 0; first < count; first += SIMS_PER_PROCESS) {
    const child = spawn(process.execPath, [SIM, scheduler.grpc, String(Math.min(SIMS_PER_PROCESS, count - first)), `sim${first}`, heartbeats], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    sims.add(child);
    child.once('exit', () => sims.delete(child));
    starts.push(
      new Promise((resolve, reject) => {
        child.stdout.setEncoding('utf8').once('data', () => resolve());
        child.once('exit', (code) => reject(new Error(`simulated workers exited (${code}) before registering`)));
      }),
    );
  }
  await Promise.all(starts);
}

export async function stopAll(): Promise<void> {
  await Promise.all(
    [...sims].map(
      (c) =>
        new Promise((resolve) => {
          c.once('exit', resolve);
          c.stdin!.end();
        }),
    ),
  );
  await cleanUp();
}

/** A scheduler for simulated workers: plaintext gRPC on loopback, heartbeats every second. */
export const simScheduler = async (args: string[] = [], dataDir?: string): Promise<SchedulerHandle> =>
  dropLogs(await startScheduler({ dataDir, args: ['--insecure', '--heartbeat-interval', '1s', '--max-queued', String(Math.max(QUEUE_JOBS, DISPATCH_JOBS) + 1000), ...args] }));

const batchOf = (n: number, job: Record<string, unknown>): { jobs: Record<string, unknown>[] } => ({ jobs: Array.from({ length: n }, () => job) });

export async function submitBatches(api: string, n: number, job: Record<string, unknown>): Promise<void> {
  await runPool(Math.ceil(n / BATCH), BATCHES_IN_FLIGHT, async (i) => {
    await post(`${api}/v1/jobs/batch`, batchOf(Math.min(BATCH, n - i * BATCH), job));
  });
}

/** Jobs submitted in batches and reported finished by 100 simulated workers, per second. */
async function dispatch(): Promise<Row[]> {
  const scheduler = await simScheduler();
  await startSims(scheduler, DISPATCH_WORKERS);
  await submitBatches(scheduler.api, 1000, { command: 'true' }); // warm up
  await waitIdle(scheduler.api);
  const cpu0 = cpuSeconds(scheduler.pid);
  const t0 = Date.now();
  await submitBatches(scheduler.api, DISPATCH_JOBS, { command: 'true' });
  await waitIdle(scheduler.api);
  const cpu = cpuSeconds(scheduler.pid) - cpu0;
  const elapsed = ((await lastRecorded(scheduler.api)) - t0) / 1000;
  const succeeded = (await allJobs(scheduler.api, 'state=succeeded')).length - 1000;
  const rss = rssMiB(scheduler.pid);
  await stopAll();
  const rate = DISPATCH_JOBS / elapsed;
  return [
    {
      measure: `dispatch rate, ${DISPATCH_WORKERS} simulated workers`,
      figure: `${fmt(rate)} jobs/s (${fmt(succeeded)} of ${fmt(DISPATCH_JOBS)} succeeded)`,
      target: '≥ 5,000 jobs/s',
      met: rate >= 5000 && succeeded === DISPATCH_JOBS,
    },
    { measure: 'scheduler CPU per job while dispatching; its RSS after', figure: `${fmt((cpu * 1000) / DISPATCH_JOBS, 2)} ms; ${fmt(rss)} MiB`, target: 'where the time goes' },
  ];
}

/** `jobs` in batches to `schedulers` in turn, placed by the first (the leader) over its simulated workers: jobs/s to the last exit it recorded. */
async function batchRate(schedulers: SchedulerHandle[], jobs: number): Promise<number> {
  const [leader] = schedulers;
  const t0 = Date.now();
  await runPool(Math.ceil(jobs / BATCH), BATCHES_IN_FLIGHT, async (i) => {
    await post(`${schedulers[i % schedulers.length]!.api}/v1/jobs/batch`, batchOf(Math.min(BATCH, jobs - i * BATCH), { command: 'true' }));
  });
  await waitIdle(leader!.api);
  return jobs / (((await lastRecorded(leader!.api)) - t0) / 1000);
}

/** One store's dispatch rate on fresh schedulers, after WARMUP jobs the same way. */
async function storeRate(schedulers: SchedulerHandle[]): Promise<number> {
  await startSims(schedulers[0]!, DISPATCH_WORKERS);
  await batchRate(schedulers, WARMUP);
  const rate = await batchRate(schedulers, STORE_JOBS);
  await stopAll();
  return rate;
}

const STORE_SETUPS = {
  sqlite: async () => storeRate([await simScheduler()]),
  pgOne: async () => {
    const db = await freshDatabase('baton_bench');
    return storeRate([await simScheduler(['--store', db.url])]).finally(() => db.drop());
  },
  pgTwo: async () => {
    const db = await freshDatabase('baton_bench');
    const first = await simScheduler(['--store', db.url]);
    const second = await simScheduler(['--store', db.url], first.dataDir);
    return storeRate([first, second]).finally(() => db.drop());
  },
};
type StoreSetup = keyof typeof STORE_SETUPS;

/**
 * Issue 6: the dispatch rate on SQLite with one scheduler, on PostgreSQL with one and with two.
 * Each run is a few seconds, so the machine's load moves it: rounds take the three in a
 * different order each time and the best of each is kept, as the peer scenario does.
 */
async function stores(): Promise<Row[]> {
  const order: StoreSetup[] = ['sqlite', 'pgOne', 'pgTwo'];
  const rates: Record<StoreSetup, number[]> = { sqlite: [], pgOne: [], pgTwo: [] };
  for (let round = 0; round < STORE_ROUNDS; round++) {
    for (let k = 0; k < order.length; k++) {
      const setup = order[(round + k) % order.length]!;
      rates[setup].push(await STORE_SETUPS[setup]());
    }
  }
  const best = (setup: StoreSetup): number => Math.max(...rates[setup]);
  const each = (setup: StoreSetup): string => `best of ${rates[setup].map((r) => fmt(r)).join(', ')}`;
  const [sqlite, pgOne, pgTwo] = order.map(best) as [number, number, number];
  return [
    { measure: `dispatch rate, SQLite, one scheduler, ${fmt(STORE_JOBS)} jobs`, figure: `${fmt(sqlite)} jobs/s (${each('sqlite')})`, target: 'the baseline' },
    {
      measure: 'dispatch rate, PostgreSQL, one scheduler',
      figure: `${fmt(pgOne)} jobs/s (${fmt(pgOne / sqlite, 2)}× SQLite; ${each('pgOne')})`,
      target: '≥ 0.6× SQLite',
      met: pgOne / sqlite >= 0.6,
    },
    {
      measure: 'dispatch rate, PostgreSQL, two schedulers (batches to both, the leader places)',
      figure: `${fmt(pgTwo)} jobs/s (${fmt(pgTwo / sqlite, 2)}× SQLite, ${fmt(pgTwo / pgOne, 2)}× one; ${each('pgTwo')})`,
      target: '≥ one scheduler',
      met: pgTwo >= pgOne,
    },
  ];
}

/** The scheduler's CPU share (of one core) and RSS while `HEARTBEAT_WORKERS` simulated workers beat every second. */
async function heartbeatLoad(mode: HeartbeatMode): Promise<{ share: number; rss: number; up: number }> {
  const scheduler = await simScheduler();
  await startSims(scheduler, HEARTBEAT_WORKERS, mode);
  await new Promise((r) => setTimeout(r, 5_000)); // registrations settle, heartbeats spread out
  const cpu0 = cpuSeconds(scheduler.pid);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, HEARTBEAT_SECONDS * 1000));
  const share = (cpuSeconds(scheduler.pid) - cpu0) / ((performance.now() - t0) / 1000);
  const rss = rssMiB(scheduler.pid);
  const up = (await get<{ workers: { state: string }[] }>(`${scheduler.api}/v1/workers`)).workers.filter((w) => w.state === 'up').length;
  await stopAll();
  return { share, rss, up };
}

/** 1,000 simulated workers heartbeating every second on the Heartbeats stream (as workers do), and with unary calls for comparison. */
async function heartbeats(): Promise<Row[]> {
  const stream = await heartbeatLoad('stream');
  const unary = await heartbeatLoad('unary');
  return [
    {
      measure: `${fmt(HEARTBEAT_WORKERS)} simulated workers heartbeating every second: scheduler CPU (${stream.up} up at the end)`,
      figure: `${fmt(stream.share * 100, 1)}% of one core`,
      target: '< 25% of one core',
      met: stream.share < 0.25 && stream.up === HEARTBEAT_WORKERS,
    },
    { measure: `… scheduler RSS`, figure: `${fmt(stream.rss)} MiB`, target: 'reported' },
    { measure: `… the same beats as unary Heartbeat calls (${unary.up} up at the end)`, figure: `${fmt(unary.share * 100, 1)}% of one core`, target: 'same-run baseline' },
  ];
}

/** 100,000 queued jobs (no worker to take them): submit rate, memory, time to list the first page. */
async function queue(): Promise<Row[]> {
  const scheduler = await simScheduler();
  const t0 = performance.now();
  await submitBatches(scheduler.api, QUEUE_JOBS, { command: 'true' });
  const rate = QUEUE_JOBS / ((performance.now() - t0) / 1000);
  const rss = rssMiB(scheduler.pid);
  const times: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    await get(`${scheduler.api}/v1/jobs?limit=50`);
    times.push(performance.now() - t);
  }
  const queuedTimes: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    await get(`${scheduler.api}/v1/jobs?state=queued&limit=50`);
    queuedTimes.push(performance.now() - t);
  }
  await stopAll();
  return [
    { measure: `${fmt(QUEUE_JOBS)} jobs queued: submit rate (batches of ${BATCH})`, figure: `${fmt(rate)} jobs/s`, target: 'reported' },
    { measure: `${fmt(QUEUE_JOBS)} jobs queued: scheduler RSS`, figure: `${fmt(rss)} MiB`, target: '≤ 300 MiB', met: rss <= 300 },
    {
      measure: '… first page (`GET /v1/jobs?limit=50`, median of 20; `state=queued`)',
      figure: `${fmt(percentile(times, 50), 1)} ms; ${fmt(percentile(queuedTimes, 50), 1)} ms`,
      target: 'reported',
    },
  ];
}

/** Idle cluster, two real workers, mTLS: POST /v1/jobs (no worker named) → the process started (its attempt's started_at). */
async function idleLatency(): Promise<Row[]> {
  const jobs = jobsDir({ 'noop.sh': '' });
  const scheduler = await startScheduler();
  dropLogs(await startWorker(scheduler, { jobsDir: jobs }));
  dropLogs(await startWorker(scheduler, { jobsDir: jobs }));
  dropLogs(scheduler);
  const times: number[] = [];
  for (let i = 0; i < IDLE_SAMPLES + 20; i++) {
    const t0 = Date.now();
    const job = await post<{ id: string }>(`${scheduler.api}/v1/jobs`, { command: 'true' });
    const done = await get<{ attempts: { started_at: string | null }[] }>(`${scheduler.api}/v1/jobs/${job.id}/wait?timeout=10`);
    const started = Date.parse(done.attempts[0]!.started_at ?? '');
    if (i >= 20) times.push(started - t0);
    await new Promise((r) => setTimeout(r, 20)); // idle between jobs
  }
  await stopAll();
  return [
    { measure: 'idle cluster, submit → process start, p50', figure: `${fmt(percentile(times, 50), 1)} ms`, target: 'reported' },
    { measure: 'idle cluster, submit → process start, p99', figure: `${fmt(percentile(times, 99), 1)} ms`, target: 'reported' },
  ];
}

/**
 * Two real workers; the scheduler SIGKILLed, left dead for a while, restarted on the same
 * port and data folder: from its "scheduler ready" to each worker's next "worker registered"
 * (both log times, same machine). What the workers' registration backoff cap costs.
 */
async function reconnect(): Promise<Row[]> {
  const args = ['--grpc', `127.0.0.1:${await freePort()}`];
  let scheduler = await startScheduler({ args });
  const workers: WorkerHandle[] = [await startWorker(scheduler), await startWorker(scheduler)];
  const registered = (l: LogLine): boolean => l.msg === 'worker registered';
  const times: number[] = [];
  for (let round = 0; round < RECONNECT_ROUNDS; round++) {
    const before = workers.map((w) => new Set(w.logs.filter(registered)));
    await scheduler.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, RECONNECT_DOWN_MS));
    scheduler = await startScheduler({ dataDir: scheduler.dataDir, args });
    const ready = Date.parse(String((await scheduler.waitForLog((l) => l.msg === 'scheduler ready')).time));
    const again = await Promise.all(workers.map((w, i) => w.waitForLog((l) => registered(l) && !before[i]!.has(l))));
    times.push(...again.map((l) => Date.parse(String(l.time)) - ready));
  }
  await stopAll();
  return [
    {
      measure: `scheduler SIGKILLed, ${RECONNECT_DOWN_MS / 1000} s down, restarted: its ready → a worker registered again (${times.length} samples)`,
      figure: `p50 ${fmt(percentile(times, 50) / 1000, 2)} s, max ${fmt(Math.max(...times) / 1000, 2)} s`,
      target: 'reported',
    },
  ];
}

export const FLEET_SCENARIOS = { dispatch, heartbeats, queue, 'idle-latency': idleLatency, reconnect, stores } as const;

export async function fleet(only?: keyof typeof FLEET_SCENARIOS): Promise<Section> {
  const rows: Row[] = [];
  for (const [name, run] of Object.entries(FLEET_SCENARIOS)) {
    if (only !== undefined && only !== name) continue;
    console.log(`  ${name}…`);
    rows.push(...(await run()));
  }
  return {
    title: 'Fleet: the scheduler alone, and idle latency (issues 3 and 20)',
    method: `Simulated workers (bench/sim/sim-workers.ts) speak the real worker gRPC protocol over plaintext on loopback (the scheduler runs \`--insecure\`, heartbeats every 1 s), register, heartbeat, and finish each job at once (RUNNING then SUCCEEDED on WatchJobs). Dispatch: ${fmt(DISPATCH_JOBS)} jobs (\`BENCH_DISPATCH_JOBS\`) through \`POST /v1/jobs/batch\` in batches of ${BATCH} (\`BENCH_BATCH\`), ${BATCHES_IN_FLIGHT} in flight, placed by the scheduler over ${DISPATCH_WORKERS} simulated workers, timed to the last recorded exit. Heartbeats: ${fmt(HEARTBEAT_WORKERS)} workers (\`BENCH_HEARTBEAT_WORKERS\`), scheduler CPU from /proc/<pid>/stat over ${HEARTBEAT_SECONDS} s. Queue: ${fmt(QUEUE_JOBS)} jobs (\`BENCH_QUEUE_JOBS\`) with no worker registered. Idle latency: ${IDLE_SAMPLES} jobs (\`BENCH_IDLE_SAMPLES\`) one at a time on a scheduler with two real workers (mTLS), from the client's clock before \`POST /v1/jobs\` to the attempt's \`started_at\` (the worker's clock, same machine). Reconnect: ${RECONNECT_ROUNDS} rounds (\`BENCH_RECONNECT_ROUNDS\`) of SIGKILL, ${RECONNECT_DOWN_MS / 1000} s down and restart of the scheduler with two real workers, from its \`scheduler ready\` log line to each worker's next \`worker registered\`. Stores: ${fmt(STORE_JOBS)} jobs (\`BENCH_STORE_JOBS\`) as in Dispatch, after ${fmt(WARMUP)} the same way to warm up (\`BENCH_WARMUP\`), on SQLite, on a fresh PostgreSQL database (127.0.0.1:5432, \`BATON_TEST_PG\`) with one scheduler, and with two sharing one (batches sent to both APIs in turn, the simulated workers registered with the leader); ${STORE_ROUNDS} rounds (\`BENCH_STORE_ROUNDS\`), each taking the three in a different order on fresh schedulers, the best of each kept.`,
    rows,
  };
}
