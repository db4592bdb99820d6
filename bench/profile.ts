/**
 * `node dist/bench/profile.js [e2e|dispatch] [label]`: where the scheduler's CPU goes per job.
 * The scheduler runs with bench/profile/preload.ts, which profiles it (V8's sampling profiler)
 * and counts its SQL statements and transactions over the measured window only (after a warm-up).
 * e2e: as `npm run bench -- e2e` (POST /start naming one real worker, mTLS, SQLite); jobs with
 * empty output, or one line each with BENCH_PROFILE_OUTPUT=line.
 * dispatch: as `npm run bench -- dispatch` (batches, simulated workers, plaintext gRPC); with
 * BENCH_PROFILE_STORE=postgres on a fresh PostgreSQL database.
 * Prints the summary and writes it to docs/benchmarks.md under "Profile", as part `<scenario> <label>`.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanUp, jobsDir, startScheduler, startWorker, type SchedulerHandle } from '../test/support/cluster.js';
import { freshDatabase } from '../test/support/postgres.js';
import { CONCURRENCY } from './core.js';
import { simScheduler, startSims, stopAll, submitBatches } from './fleet.js';
import { allJobs, post, waitIdle } from './http.js';
import { cpuSeconds, dropLogs } from './proc.js';
import { summarise, type CpuProfile } from './profile/buckets.js';
import { writeProfilePart } from './profile/doc.js';
import { fmt } from './report.js';
import { runPool } from './stats.js';

const JOBS = Number(process.env.BENCH_PROFILE_JOBS ?? 3000);
const PRELOAD = fileURLToPath(new URL('./profile/preload.js', import.meta.url));
const DOC = fileURLToPath(new URL('../../docs/benchmarks.md', import.meta.url));
const SCENARIOS = ['e2e', 'dispatch', 'queue'] as const;
type Scenario = (typeof SCENARIOS)[number];

/** Starts a scheduler with the preload (only it: the env is put back before anything else starts). */
async function profiled<T extends SchedulerHandle>(dir: string, start: () => Promise<T>): Promise<T> {
  const saved = { options: process.env.NODE_OPTIONS, dir: process.env.BENCH_PROFILE_DIR };
  // BENCH_SCHEDULER_FLAGS: V8 or Node flags for the scheduler alone (to try a heap setting, say).
  process.env.NODE_OPTIONS = `${saved.options ?? ''} ${process.env.BENCH_SCHEDULER_FLAGS ?? ''} --import=${PRELOAD}`.trim();
  process.env.BENCH_PROFILE_DIR = dir;
  try {
    return await start();
  } finally {
    if (saved.options === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = saved.options;
    if (saved.dir === undefined) delete process.env.BENCH_PROFILE_DIR;
    else process.env.BENCH_PROFILE_DIR = saved.dir;
  }
}

interface Window {
  cpuMs: number;
  profile: CpuProfile;
  counts: {
    statements: Record<string, number>;
    statementNs: Record<string, number>;
    transactions: number;
    logLines: number;
    memory: NodeJS.MemoryUsage;
    afterGc: NodeJS.MemoryUsage;
  };
}

/** SIGUSR2 before and after `load`: the preload profiles what happens between. */
async function measure(scheduler: SchedulerHandle, dir: string, load: () => Promise<void>): Promise<Window> {
  scheduler.child.kill('SIGUSR2');
  await new Promise((r) => setTimeout(r, 300)); // the profiler starts
  const cpu0 = cpuSeconds(scheduler.pid);
  await load();
  const cpuMs = (cpuSeconds(scheduler.pid) - cpu0) * 1000;
  await new Promise((r) => setTimeout(r, 150)); // the last log lines are written
  scheduler.child.kill('SIGUSR2');
  const file = path.join(dir, 'profile.cpuprofile');
  for (let i = 0; !existsSync(file); i++) {
    if (i > 200) throw new Error('the scheduler wrote no profile (was it started with the preload?)');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    cpuMs,
    profile: JSON.parse(readFileSync(file, 'utf8')) as CpuProfile,
    counts: JSON.parse(readFileSync(path.join(dir, 'counts.json'), 'utf8')) as Window['counts'],
  };
}

async function e2e(dir: string): Promise<Window> {
  const scheduler = await profiled(dir, () => startScheduler());
  const worker = dropLogs(await startWorker(scheduler, { jobsDir: jobsDir({ 'noop.sh': '', 'line.txt': 'one line of output\n' }), args: ['--capacity', '256'] }));
  dropLogs(scheduler);
  // BENCH_PROFILE_OUTPUT=line: each job writes one line (`cat line.txt`) instead of nothing (`true noop.sh`).
  const job = process.env.BENCH_PROFILE_OUTPUT === 'line' ? { command: 'cat', path: 'line.txt' } : { command: 'true', path: 'noop.sh' };
  const submit = (n: number): Promise<void> => runPool(n, CONCURRENCY, async () => void (await post(`${scheduler.api}/start`, { worker_id: worker.id, ...job })));
  await submit(200); // warm up
  await waitIdle(scheduler.api);
  const window = await measure(scheduler, dir, async () => {
    await submit(JOBS);
    await waitIdle(scheduler.api);
  });
  const succeeded = (await allJobs(scheduler.api, 'state=succeeded')).length;
  await cleanUp();
  if (succeeded !== JOBS + 200) console.log(`  warning: ${JOBS + 200 - succeeded} jobs did not succeed`);
  return window;
}

async function dispatch(dir: string): Promise<Window> {
  const pg = process.env.BENCH_PROFILE_STORE === 'postgres' ? await freshDatabase('baton_bench') : undefined;
  try {
    const scheduler = await profiled(dir, () => simScheduler(pg ? ['--store', pg.url] : []));
    dropLogs(scheduler);
    await startSims(scheduler, 100);
    await submitBatches(scheduler.api, 1000, { command: 'true' }); // warm up
    await waitIdle(scheduler.api);
    const window = await measure(scheduler, dir, async () => {
      await submitBatches(scheduler.api, JOBS, { command: 'true' });
      await waitIdle(scheduler.api);
    });
    await stopAll();
    return window;
  } finally {
    await pg?.drop();
  }
}

/** Jobs submitted in batches with no worker: they stay queued (the memory they take is in the report). */
async function queue(dir: string): Promise<Window> {
  const scheduler = dropLogs(await profiled(dir, () => simScheduler()));
  await submitBatches(scheduler.api, 1000, { command: 'true' }); // warm up
  return measure(scheduler, dir, () => submitBatches(scheduler.api, JOBS, { command: 'true' })).finally(() => stopAll());
}

const mib = (bytes: number): string => `${fmt(bytes / 1024 ** 2)} MiB`;

function report(scenario: Scenario, label: string, w: Window): string {
  const summary = summarise(w.profile);
  // The profiler samples wall time: on a loaded machine the time a process waits for a core lands on whatever it ran last.
  // Shares are from the profile; per-job figures are those shares of the CPU /proc measured.
  const scale = w.cpuMs / summary.totalMs;
  const per = (ms: number): string => `${fmt((ms * scale * 1000) / JOBS)} µs`;
  const statements = Object.entries(w.counts.statements).sort((a, b) => b[1] - a[1]);
  const total = statements.reduce((n, [, c]) => n + c, 0);
  const store = scenario === 'dispatch' && process.env.BENCH_PROFILE_STORE === 'postgres' ? 'PostgreSQL' : 'SQLite';
  return `### ${scenario}, ${label} (${store})

${fmt(JOBS)} jobs (\`BENCH_PROFILE_JOBS\`) after a warm-up, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, load ${os
    .loadavg()
    .map((l) => fmt(l, 2))
    .join(
      ' ',
    )}. Scheduler CPU per job (from /proc, profiler running): **${fmt(w.cpuMs / JOBS, 3)} ms**; profiled self time per job ${fmt(summary.totalMs / JOBS, 3)} ms (wall time sampled; the per-job figures below are each part's share of the CPU measured).
Scheduler memory at the end: RSS ${mib(w.counts.memory.rss)}, V8 heap used ${mib(w.counts.memory.heapUsed)} of ${mib(w.counts.memory.heapTotal)}, external and array buffers ${mib(w.counts.memory.external)}; after a forced full GC: RSS ${mib(w.counts.afterGc.rss)}, heap used ${mib(w.counts.afterGc.heapUsed)}.
Per job: **${fmt(total / JOBS, 2)} SQL statements**, **${fmt(w.counts.transactions / JOBS, 3)} transactions (commits)**, **${fmt(w.counts.logLines / JOBS, 2)} log lines**.

| statement | per job | time in the driver per job (SQLite: synchronous, wall) |
|---|---|---|
${statements
  .slice(0, 12)
  .map(([k, c]) => `| ${k} | ${fmt(c / JOBS, 2)} | ${k in w.counts.statementNs ? `${fmt((w.counts.statementNs[k] ?? 0) / 1000 / JOBS)} µs` : '—'} |`)
  .join('\n')}

| where the CPU goes (self time) | per job | share |
|---|---|---|
${summary.buckets.map((b) => `| ${b.name} | ${per(b.ms)} | ${fmt((100 * b.ms) / summary.totalMs, 1)}% |`).join('\n')}

| top functions (self time) | bucket | per job |
|---|---|---|
${summary.functions
  .slice(0, 15)
  .map((f) => `| \`${f.name.replace(/\|/g, '\\|')}\` | ${f.bucket} | ${per(f.ms)} |`)
  .join('\n')}
`;
}

const [scenarioArg = 'e2e', label = 'now'] = process.argv.slice(2);
if (!(SCENARIOS as readonly string[]).includes(scenarioArg)) {
  console.error(`unknown scenario "${scenarioArg}"; usage: node dist/bench/profile.js [${SCENARIOS.join('|')}] [label]`);
  process.exit(2);
}
const scenario = scenarioArg as Scenario;
const dir = mkdtempSync(path.join(os.tmpdir(), 'baton-profile-'));
try {
  const window = await { e2e, dispatch, queue }[scenario](dir);
  const kept = path.join(os.tmpdir(), `baton-${scenario}-${label}.cpuprofile`);
  copyFileSync(path.join(dir, 'profile.cpuprofile'), kept);
  console.log(`the profile: ${kept} (open it in Chrome's DevTools, Performance tab)`);
  const text = report(scenario, label, window);
  console.log(text);
  const store = process.env.BENCH_PROFILE_STORE === 'postgres' ? ' postgres' : '';
  writeProfilePart(DOC, `${scenario}${store} ${label}`, text);
  console.log(`written to docs/benchmarks.md (Profile, "${scenario}${store} ${label}")`);
} catch (err) {
  console.error(`profile failed: ${err instanceof Error ? err.message : String(err)}`);
  await cleanUp();
  process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
