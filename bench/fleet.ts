/**
 * Fleet benchmarks (issue "Fleet scheduling"): the scheduler alone, measured with simulated
 * workers (bench/sim/), and submit-to-start latency with real ones. Each returns its figures
 * as table rows for docs/benchmarks.md.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { startScheduler, startWorker, jobsDir, cleanUp, type SchedulerHandle } from '../test/support/cluster.js';
import { startSimFleet } from './sim/sim-worker.js';
import { percentile, runPool } from './stats.js';

export interface Row {
  measure: string;
  figure: string;
  target: string;
}

const FLEET_JOBS = Number(process.env.BENCH_FLEET_JOBS ?? 20_000);
const SIM_WORKERS = Number(process.env.BENCH_SIM_WORKERS ?? 100);
const HEARTBEAT_WORKERS = Number(process.env.BENCH_HEARTBEAT_WORKERS ?? 1_000);
const HEARTBEAT_SECONDS = Number(process.env.BENCH_HEARTBEAT_SECONDS ?? 20);
const QUEUED = Number(process.env.BENCH_QUEUED ?? 100_000);
const IDLE_SAMPLES = Number(process.env.BENCH_IDLE_SAMPLES ?? 200);
const BATCH = 1_000;
// Clock ticks per second of /proc/<pid>/stat times: 100 on Linux on x86-64 and arm64.
const CLK_TCK = 100;

const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

function request(method: string, url: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const payload = body === undefined ? '' : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers: body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        if (res.statusCode! >= 400) return reject(new Error(`${method} ${url} answered ${res.statusCode}: ${text.slice(0, 300)}`));
        resolve({ status: res.statusCode!, json: JSON.parse(text) as Record<string, unknown> });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime (fields 14 and 15)
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function submitBatches(api: string, total: number, job: Record<string, unknown>): Promise<void> {
  const batches = Math.ceil(total / BATCH);
  await runPool(batches, 2, async (b) => {
    const size = Math.min(BATCH, total - b * BATCH);
    await request('POST', `${api}/v1/jobs/batch`, { jobs: Array.from({ length: size }, () => job) });
  });
}

async function unfinished(api: string): Promise<boolean> {
  for (const state of ['queued', 'dispatched', 'running']) {
    if (((await request('GET', `${api}/v1/jobs?state=${state}&limit=1`)).json.jobs as unknown[]).length > 0) return true;
  }
  return false;
}

async function waitAllFinal(api: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (await unfinished(api)) {
    if (Date.now() > deadline) throw new Error(`jobs not finished within ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function simScheduler(extra: string[] = []): Promise<SchedulerHandle> {
  return startScheduler({ args: ['--insecure', '--max-queued', String(Math.max(QUEUED, FLEET_JOBS) * 2), ...extra] });
}

/** Jobs submitted in batches over HTTP, dispatched to simulated workers and recorded finished, per second. */
export async function dispatchRate(): Promise<Row[]> {
  const scheduler = await simScheduler();
  const fleet = await startSimFleet(scheduler.grpc, SIM_WORKERS, 64);
  const job = { command: 'true' };
  await submitBatches(scheduler.api, 1_000, job); // warm up
  await waitAllFinal(scheduler.api, 120_000);
  const cpu0 = cpuSeconds(scheduler.pid);
  const t0 = performance.now();
  await submitBatches(scheduler.api, FLEET_JOBS, job);
  await waitAllFinal(scheduler.api, 600_000);
  const seconds = (performance.now() - t0) / 1000;
  const cpuPerJobMs = ((cpuSeconds(scheduler.pid) - cpu0) * 1000) / FLEET_JOBS;
  const rate = FLEET_JOBS / seconds;
  console.log(`dispatch, ${SIM_WORKERS} sim workers     ${fmt(rate)} jobs/s (${fmt(FLEET_JOBS)} jobs in ${fmt(seconds, 1)} s; scheduler CPU ${fmt(cpuPerJobMs, 2)} ms/job)`);
  await fleet.close();
  await cleanUp();
  return [
    { measure: `dispatch rate: ${fmt(FLEET_JOBS)} jobs in batches of ${fmt(BATCH)} (POST /v1/jobs/batch), ${SIM_WORKERS} simulated workers, submit to recorded finished`, figure: `${fmt(rate)} jobs/s`, target: '≥ 2,000 jobs/s' },
    { measure: 'scheduler CPU per dispatched job (same run)', figure: `${fmt(cpuPerJobMs, 2)} ms`, target: '–' },
  ];
}

/** The scheduler's CPU share and memory with many workers heartbeating every second. */
export async function heartbeats(): Promise<Row[]> {
  const scheduler = await simScheduler(['--heartbeat-interval', '1s', '--heartbeat-ttl', '10s']);
  const fleet = await startSimFleet(scheduler.grpc, HEARTBEAT_WORKERS, 16);
  await new Promise((r) => setTimeout(r, 5_000)); // registration settles
  const cpu0 = cpuSeconds(scheduler.pid);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, HEARTBEAT_SECONDS * 1000));
  const share = (cpuSeconds(scheduler.pid) - cpu0) / ((performance.now() - t0) / 1000);
  const rss = rssMiB(scheduler.pid);
  const up = ((await request('GET', `${scheduler.api}/v1/workers`)).json.workers as { state: string }[]).filter((w) => w.state === 'up').length;
  console.log(`${HEARTBEAT_WORKERS} workers heartbeating 1/s   scheduler CPU ${fmt(share * 100, 1)}% of a core, RSS ${fmt(rss)} MiB (${up} up)`);
  await fleet.close();
  await cleanUp();
  return [
    { measure: `${fmt(HEARTBEAT_WORKERS)} simulated workers heartbeating every second: scheduler CPU over ${HEARTBEAT_SECONDS} s (${up} up at the end)`, figure: `${fmt(share * 100, 1)}% of one core`, target: '< 25% of one core' },
    { measure: 'the same: scheduler memory (RSS)', figure: `${fmt(rss)} MiB`, target: '–' },
  ];
}

/** Many jobs waiting with no worker to take them: submit rate, memory, first page of the job list. */
export async function queued(): Promise<Row[]> {
  const scheduler = await simScheduler();
  const t0 = performance.now();
  await submitBatches(scheduler.api, QUEUED, { command: 'true' });
  const rate = QUEUED / ((performance.now() - t0) / 1000);
  const rss = rssMiB(scheduler.pid);
  const pageTimes: number[] = [];
  for (let i = 0; i < 11; i++) {
    const s = performance.now();
    const page = await request('GET', `${scheduler.api}/v1/jobs?limit=50${i % 2 ? '&state=queued' : ''}`);
    pageTimes.push(performance.now() - s);
    if ((page.json.jobs as unknown[]).length !== 50) throw new Error('the first page did not have 50 jobs');
  }
  const page = percentile(pageTimes, 50);
  console.log(`${fmt(QUEUED)} queued jobs            submit ${fmt(rate)} jobs/s, RSS ${fmt(rss)} MiB, first page ${fmt(page, 1)} ms`);
  await cleanUp();
  return [
    { measure: `${fmt(QUEUED)} queued jobs (no worker): submit rate, batches of ${fmt(BATCH)}`, figure: `${fmt(rate)} jobs/s`, target: '–' },
    { measure: 'the same: scheduler memory (RSS) with them queued', figure: `${fmt(rss)} MiB`, target: '–' },
    { measure: 'the same: time to list the first page (GET /v1/jobs?limit=50, median of 11)', figure: `${fmt(page, 1)} ms`, target: '–' },
  ];
}

/** Submit (POST /v1/jobs, placement by the scheduler) to process start, on an idle cluster of two real workers. */
export async function idleLatency(): Promise<Row[]> {
  const jobs = jobsDir({ 'noop.sh': '' });
  const scheduler = await startScheduler();
  await Promise.all([startWorker(scheduler, { jobsDir: jobs }), startWorker(scheduler, { jobsDir: jobs })]);
  const latencies: number[] = [];
  for (let i = 0; i < IDLE_SAMPLES + 20; i++) {
    const made = await request('POST', `${scheduler.api}/v1/jobs`, { command: 'true', path: 'noop.sh' });
    const id = String(made.json.id);
    const done = (await request('GET', `${scheduler.api}/v1/jobs/${id}/wait?timeout=30`)).json;
    const attempt = (done.attempts as { started_at: string | null }[])[0];
    if (i >= 20 && attempt?.started_at) latencies.push(Date.parse(attempt.started_at) - Date.parse(String(done.created_at)));
  }
  const p50 = percentile(latencies, 50);
  const p99 = percentile(latencies, 99);
  console.log(`idle submit → process start  p50 ${fmt(p50, 1)} ms, p99 ${fmt(p99, 1)} ms (${latencies.length} sequential)`);
  await cleanUp();
  return [{ measure: `idle cluster, 2 real workers: submit (POST /v1/jobs) to process start, ${latencies.length} sequential jobs, p50 / p99 (ms resolution)`, figure: `${fmt(p50, 1)} / ${fmt(p99, 1)} ms`, target: '–' }];
}

export const FLEET_SCENARIOS = { dispatch: dispatchRate, heartbeats, queued, 'idle-latency': idleLatency } as const;
