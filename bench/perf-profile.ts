/**
 * `node dist/bench/perf-profile.js [jobs]`: where the scheduler's CPU goes per job in the e2e
 * scenario (POST /start naming one real worker, mTLS, SQLite), measured on the CPU by Linux
 * `perf` rather than by V8's sampler. V8's sampler records wall time: on a loaded machine the
 * time the scheduler waits for a core lands on whatever it ran last (a write() to a socket or a
 * pipe), which made log writes and socket writes look several times costlier than they are.
 * perf samples only while the scheduler's main thread runs. Needs `perf` and
 * kernel.perf_event_paranoid ≤ 1 (or root); prints one table, writes nothing.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cleanUp, jobsDir, startScheduler, startWorker } from '../test/support/cluster.js';
import { CONCURRENCY, WARMUP } from './core.js';
import { post, waitIdle } from './http.js';
import { cpuSeconds, dropLogs } from './proc.js';
import { fmt } from './report.js';
import { runPool } from './stats.js';

const JOBS = Number(process.argv[2] ?? process.env.BENCH_PROFILE_JOBS ?? 4000);

/** Each sample goes to the area of its innermost frame that names one (JavaScript or a known native library). */
const AREAS: [string, RegExp][] = [
  ['GC', /Scavenger|Heap::Collect|MarkCompact|GCTracer|Sweeper|Heap::PerformGarbage/],
  ['store: SQLite and the group writer', /better-sqlite3|store\/writer\.js|sqlite3/],
  ['store: rows, records, events (JS)', /store\/|kysely/],
  ['logging (pino and its writes)', /pino|sonic-boom/],
  ['metrics (prom-client, job timings)', /prom-client|scheduler\/metrics\.js|job-timings/],
  ['HTTP: Fastify, routes, auth, audit, views', /fastify|find-my-way|\/http\/|auth\/|avvio|fast-json-stringify|ajv/],
  ['HTTP: node:http', /node:_http|llhttp/],
  ['gRPC, protobuf, HTTP/2, worker channel', /grpc-js|\/gen\/baton|bufbuild|http2|worker-channel|start-stream|nghttp2/],
  ['TLS (native)', /SSL|ssl3|tls1|EVP_|TLSWrap|aes_|gcm_/],
  ['dispatch, job service, lifecycle writer', /scheduler\/[a-z-]+\.js|common\//],
];
const OTHER_JS = 'node streams, promises, timers, other JS';
const OTHER_NATIVE = 'native: socket I/O, system calls, other';

/** The area of one sample's stack (leaf first). */
function areaOf(stack: readonly string[]): string {
  for (const frame of stack) {
    const js = frame.startsWith('JS:');
    if (!js && !/sqlite3|SSL|Scavenger|Heap::|MarkCompact|Sweeper/.test(frame)) continue;
    const area = AREAS.find(([, pattern]) => pattern.test(frame));
    if (area) return area[0];
    if (js) return OTHER_JS;
  }
  return stack.some((f) => f.includes('epoll_wait') || f.includes('epoll_pwait')) ? 'idle (waiting in epoll)' : OTHER_NATIVE;
}

/** `perf script` output → samples per area, of the busiest thread (the event loop's). */
function areas(script: string): Map<string, number> {
  const threads = new Map<string, string[][]>();
  for (const block of script.split(/\n\s*\n/)) {
    const [head, ...frames] = block.split('\n').filter((l) => l.trim() !== '');
    if (head === undefined) continue;
    const tid = head.trim().split(/\s+/)[1] ?? '';
    const stack = frames.map((l) => l.trim().replace(/^[0-9a-f]+\s+/, ''));
    const samples = threads.get(tid);
    if (samples) samples.push(stack);
    else threads.set(tid, [stack]);
  }
  const main = [...threads.values()].sort((a, b) => b.length - a.length)[0] ?? [];
  const counts = new Map<string, number>();
  for (const stack of main) counts.set(areaOf(stack), (counts.get(areaOf(stack)) ?? 0) + 1);
  return counts;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'baton-perf-'));
  const data = path.join(dir, 'perf.data');
  // JIT frames named for perf (/tmp/perf-<pid>.map), for the scheduler alone.
  const saved = process.env.NODE_OPTIONS;
  process.env.NODE_OPTIONS = `${saved ?? ''} --perf-basic-prof-only-functions --interpreted-frames-native-stack`.trim();
  const scheduler = await startScheduler().finally(() => {
    if (saved === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = saved;
  });
  dropLogs(scheduler);
  try {
    const worker = dropLogs(await startWorker(scheduler, { jobsDir: jobsDir({ 'noop.sh': '' }), args: ['--capacity', '256'] }));
    const submit = async (n: number): Promise<void> => {
      await runPool(n, CONCURRENCY, async () => void (await post(`${scheduler.api}/start`, { worker_id: worker.id, command: 'true', path: 'noop.sh' })));
      await waitIdle(scheduler.api);
    };
    await submit(WARMUP); // warm up: JIT, connections, SQLite pages
    const perf = spawn('perf', ['record', '-q', '-F', '1999', '-g', '-p', String(scheduler.pid), '-o', data], { stdio: 'inherit' });
    const started = await new Promise<boolean>((resolve) => {
      perf.once('error', () => resolve(false));
      setTimeout(() => resolve(perf.exitCode === null), 1000);
    });
    if (!started) throw new Error('perf did not start: is it installed, and may this user profile other processes (kernel.perf_event_paranoid)?');
    const cpu0 = cpuSeconds(scheduler.pid);
    await submit(JOBS);
    const cpuMs = (cpuSeconds(scheduler.pid) - cpu0) * 1000;
    perf.kill('SIGINT');
    await new Promise((resolve) => perf.once('exit', resolve));
    const counts = areas(execFileSync('perf', ['script', '-i', data, '-F', 'comm,tid,ip,sym'], { maxBuffer: 1024 ** 3, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    const load = os
      .loadavg()
      .map((l) => fmt(l, 2))
      .join(' ');
    console.log(`e2e, ${fmt(JOBS)} jobs, load ${load}: scheduler CPU ${fmt(cpuMs / JOBS, 3)} ms per job (all threads, /proc); ${fmt(total)} samples of its main thread\n`);
    // Per job: each area's share of the main thread's samples, of the CPU /proc measured.
    console.log('| where the main thread runs (on-CPU, perf) | share | per job |\n|---|---|---|');
    for (const [area, n] of [...counts].sort((a, b) => b[1] - a[1])) {
      console.log(`| ${area} | ${fmt((100 * n) / total, 1)}% | ${fmt(((n / total) * cpuMs * 1000) / JOBS)} µs |`);
    }
  } finally {
    await cleanUp();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
