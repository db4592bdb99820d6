/**
 * `npm run bench`: Baton's end-to-end job rate against the machine's raw spawn rate, one
 * worker against two, and POST /start latency. Prints the figures and writes them to
 * docs/benchmarks.md. Not part of `npm test`: timings on a shared 2-core machine vary.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import { writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startScheduler, startWorker, jobsDir, cleanUp, type SchedulerHandle } from '../test/support/cluster.js';
import { FLEET_SCENARIOS, type Row } from './fleet.js';
import { percentile, runPool } from './stats.js';

const JOBS = Number(process.env.BENCH_JOBS ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const LATENCY_SAMPLES = Number(process.env.BENCH_LATENCY_SAMPLES ?? 500);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Node's own spawn('true') rate with the same concurrency: the ceiling for one-process jobs. */
async function rawSpawnRate(n: number): Promise<number> {
  const t0 = performance.now();
  await runPool(n, CONCURRENCY, () => new Promise<void>((resolve, reject) => {
    const child = spawn('true', ['noop.sh'], { stdio: 'ignore', detached: true });
    child.once('error', reject);
    child.once('exit', () => resolve());
  }));
  return n / ((performance.now() - t0) / 1000);
}

// The load generator must cost the machine as little as it can: node:http with kept-alive
// connections uses a fraction of the CPU of fetch() per request, leaving the cores to Baton.
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function post(url: string, body: unknown): Promise<Record<string, unknown>> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        const json = JSON.parse(text) as Record<string, unknown>;
        if (res.statusCode! >= 400) reject(new Error(`${url} answered ${res.statusCode}: ${text}`));
        else resolve(json);
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

async function unfinished(api: string): Promise<number> {
  let count = 0;
  for (const state of ['queued', 'dispatched', 'running']) {
    const res = (await (await fetch(`${api}/v1/jobs?state=${state}&limit=1`)).json()) as { jobs: unknown[] };
    count += res.jobs.length;
  }
  return count;
}

/** Latest time the scheduler recorded a final state, over the given jobs. */
async function lastRecorded(api: string): Promise<number> {
  let latest = 0;
  let cursor: string | null = null;
  do {
    const page = (await (await fetch(`${api}/v1/jobs?limit=500${cursor ? `&cursor=${cursor}` : ''}`)).json()) as {
      jobs: { updated_at: string; state: string }[];
      next_cursor: string | null;
    };
    for (const j of page.jobs) latest = Math.max(latest, Date.parse(j.updated_at));
    cursor = page.next_cursor;
  } while (cursor);
  return latest;
}

/** Jobs submitted over HTTP and recorded finished by the scheduler, per second. */
async function batonRate(workers: number, n: number): Promise<{ rate: number; failed: number }> {
  const jobs = jobsDir({ 'noop.sh': '' });
  const scheduler = await startScheduler();
  const ids = await Promise.all(Array.from({ length: workers }, () => startWorker(scheduler, { jobsDir: jobs, args: ['--capacity', '256'] })).map(async (w) => (await w).id));
  await submitAll(scheduler, ids, 50); // warm up: JIT, connections, SQLite pages
  await waitIdle(scheduler.api);
  const before = await countSucceeded(scheduler.api);
  const t0 = Date.now();
  await submitAll(scheduler, ids, n);
  await waitIdle(scheduler.api);
  const elapsed = (await lastRecorded(scheduler.api)) - t0;
  const succeeded = (await countSucceeded(scheduler.api)) - before;
  await cleanUp();
  return { rate: n / (elapsed / 1000), failed: n - succeeded };
}

async function submitAll(scheduler: SchedulerHandle, workerIds: string[], n: number): Promise<void> {
  await runPool(n, CONCURRENCY, async (i) => {
    await post(`${scheduler.api}/start`, { worker_id: workerIds[i % workerIds.length], command: 'true', path: 'noop.sh' });
  });
}

async function waitIdle(api: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while ((await unfinished(api)) > 0) {
    if (Date.now() > deadline) throw new Error('jobs did not finish within 120s');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function countSucceeded(api: string): Promise<number> {
  let count = 0;
  let cursor: string | null = null;
  do {
    const page = (await (await fetch(`${api}/v1/jobs?state=succeeded&limit=500${cursor ? `&cursor=${cursor}` : ''}`)).json()) as { jobs: unknown[]; next_cursor: string | null };
    count += page.jobs.length;
    cursor = page.next_cursor;
  } while (cursor);
  return count;
}

/** POST /start latency, one request at a time, on an idle one-worker cluster. */
async function startLatency(samples: number): Promise<{ p50: number; p99: number }> {
  const jobs = jobsDir({ 'noop.sh': '' });
  const scheduler = await startScheduler();
  const worker = await startWorker(scheduler, { jobsDir: jobs, args: ['--capacity', '256'] });
  const times: number[] = [];
  for (let i = 0; i < samples + 50; i++) {
    const t0 = performance.now();
    await post(`${scheduler.api}/start`, { worker_id: worker.id, command: 'true', path: 'noop.sh' });
    if (i >= 50) times.push(performance.now() - t0); // the first 50 warm up
  }
  await cleanUp();
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

interface CoreFigures {
  raw1: number;
  raw2: number;
  one: { rate: number; failed: number };
  two: { rate: number; failed: number };
  latency: { p50: number; p99: number };
}

async function core(): Promise<CoreFigures> {
  console.log(`core: ${JOBS} jobs of \`true\` per run, ${CONCURRENCY} in flight, on ${os.cpus().length} cores`);
  await rawSpawnRate(100); // warm up
  const raw1 = await rawSpawnRate(JOBS);
  console.log(`raw spawn('true')           ${fmt(raw1)} /s`);
  const one = await batonRate(1, JOBS);
  console.log(`baton, 1 worker             ${fmt(one.rate)} jobs/s  (${fmt(one.rate / raw1, 2)} of raw)`);
  const two = await batonRate(2, JOBS);
  console.log(`baton, 2 workers            ${fmt(two.rate)} jobs/s  (${fmt(two.rate / raw1, 2)} of raw, ${fmt(two.rate / one.rate, 2)}x one worker)`);
  const raw2 = await rawSpawnRate(JOBS);
  console.log(`raw spawn('true') again     ${fmt(raw2)} /s`);
  const latency = await startLatency(LATENCY_SAMPLES);
  console.log(`POST /start latency         p50 ${fmt(latency.p50, 2)} ms, p99 ${fmt(latency.p99, 2)} ms (${LATENCY_SAMPLES} sequential)`);
  if (one.failed || two.failed) console.log(`warning: ${one.failed + two.failed} jobs did not succeed`);
  return { raw1, raw2, one, two, latency };
}

function coreSection({ raw1, raw2, one, two, latency }: CoreFigures): string {
  const raw = (raw1 + raw2) / 2;
  return `## Core: jobs that start a process

${JOBS} jobs of \`true\`, ${CONCURRENCY} submissions in flight, submitted with \`POST /start\` and
counted done when the scheduler has recorded their exit (its \`updated_at\`).

| measure | figure | target |
|---|---|---|
| raw \`child_process.spawn('true')\` rate (before / after) | ${fmt(raw1)} / ${fmt(raw2)} per s | the ceiling |
| Baton end-to-end, 1 worker | ${fmt(one.rate)} jobs/s (${fmt(one.rate / raw, 2)} of raw) | ≥ 0.9 of raw |
| Baton end-to-end, 2 workers | ${fmt(two.rate)} jobs/s (${fmt(two.rate / raw, 2)} of raw) | faster than 1 worker |
| 2 workers ÷ 1 worker | ${fmt(two.rate / one.rate, 2)} | > 1 |
| \`POST /start\` latency, p50 | ${fmt(latency.p50, 2)} ms | ≤ 3 ms |
| \`POST /start\` latency, p99 | ${fmt(latency.p99, 2)} ms | ≤ 10 ms |

Latency: ${LATENCY_SAMPLES} sequential requests on an idle cluster with one worker (after 50 to warm up).
Tune with \`BENCH_JOBS\`, \`BENCH_CONCURRENCY\`, \`BENCH_LATENCY_SAMPLES\`.
`;
}

function fleetSection(rows: Row[]): string {
  return `## Fleet: the scheduler alone, with simulated workers

Simulated workers (bench/sim/) speak the real worker gRPC protocol (register, heartbeat,
WatchJobs) over plaintext loopback and report each job succeeded at once, so these figures are
the scheduler's own: HTTP, placement, the SQLite store and gRPC. The last row uses real workers.

| measure | figure | target |
|---|---|---|
${rows.map((r) => `| ${r.measure} | ${r.figure} | ${r.target} |`).join('\n')}

Tune with \`BENCH_FLEET_JOBS\`, \`BENCH_SIM_WORKERS\`, \`BENCH_HEARTBEAT_WORKERS\`, \`BENCH_HEARTBEAT_SECONDS\`,
\`BENCH_QUEUED\`, \`BENCH_IDLE_SAMPLES\`.
`;
}

const USAGE = `usage: npm run bench [-- core | fleet | ${Object.keys(FLEET_SCENARIOS).join(' | ')}]`;

async function main(): Promise<void> {
  const part = process.argv[2] ?? 'all';
  const scenario = FLEET_SCENARIOS[part as keyof typeof FLEET_SCENARIOS];
  if (!['all', 'core', 'fleet'].includes(part) && !scenario) throw new Error(`unknown part "${part}"; ${USAGE}`);
  const load = os.loadavg().map((l) => fmt(l, 2)).join(' ');
  console.log(`baton bench (${part}); load average ${load}`);
  const coreFigures = part === 'all' || part === 'core' ? await core() : undefined;
  const rows: Row[] = [];
  if (part === 'all' || part === 'fleet') for (const run of Object.values(FLEET_SCENARIOS)) rows.push(...(await run()));
  else if (scenario) rows.push(...(await scenario()));
  if (part !== 'all') {
    console.log('docs/benchmarks.md not written: only a full run (npm run bench) writes it');
    return;
  }

  const version = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const doc = `# Benchmarks

Produced by \`npm run bench\` (bench/run.ts) on ${new Date().toISOString().slice(0, 10)}, Baton ${version},
Node ${process.version}, ${os.cpus().length} × ${cpu}, ${fmt(os.totalmem() / 1024 ** 3)} GiB; load average at the start ${load}.
Every figure below comes from one run; the raw spawn rate is that run's baseline, measured
before and after the Baton runs (the figure used is their mean). One part alone:
\`npm run bench -- core\`, \`-- fleet\` or one scenario (\`-- ${Object.keys(FLEET_SCENARIOS).join('`, `-- ')}\`).

${coreSection(coreFigures!)}
${fleetSection(rows)}`;
  writeFileSync(path.join(ROOT, 'docs', 'benchmarks.md'), doc);
  console.log('written to docs/benchmarks.md');
}

try {
  await main();
} catch (err) {
  console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
  await cleanUp();
  process.exit(1);
}
