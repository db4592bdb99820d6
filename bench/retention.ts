/**
 * Dispatch while the scheduler prunes (issue 17: "pruning in small batches that never stall
 * dispatch"). BENCH_PRUNE_JOBS (default 20,000) jobs, each with a kept output, are run on one
 * scheduler's data; then, on the same data, BENCH_JOBS (default 1,000) jobs are submitted and
 * run to the end twice: once by a scheduler that keeps everything (nothing to prune), once by
 * one started with --job-retention 1s, to which every one of those jobs (and its output) is
 * expired, so it prunes them while it dispatches. Jobs/s from the first submission to an idle
 * queue, and the scheduler's event-loop delay, for each.
 */
import { freePort, startScheduler, startWorker, tempDir, type SchedulerHandle } from '../test/support/cluster.js';
import { JOBS } from './core.js';
import { allJobs, post, waitIdle } from './http.js';
import { loopDelayDuring } from './output-copy.js';
import { dropLogs } from './proc.js';
import { fmt, type Section } from './report.js';
import { runPool } from './stats.js';

const PRUNE_JOBS = Number(process.env.BENCH_PRUNE_JOBS ?? 20_000);
const CONCURRENCY = 16;
const SEED_ROUND = 4_000;

interface Run {
  rate: number;
  maxMs: number;
  p99Ms: number;
  /** Jobs the retention rounds reported deleted before the first submission, and while the jobs ran. */
  prunedBefore: number;
  pruned: number;
}

async function submitAll(api: string, workerId: string, n: number, args: string[]): Promise<void> {
  await runPool(n, CONCURRENCY, async () => {
    await post(`${api}/v1/jobs`, { worker_id: workerId, command: 'echo', args });
  });
}

/** A scheduler on `dataDir` with `args`, a worker, `JOBS` jobs run to the end. */
async function dispatchRun(dataDir: string, grpc: string, args: string[]): Promise<Run> {
  let scheduler: SchedulerHandle | undefined;
  try {
    scheduler = await startScheduler({ dataDir, args: ['--grpc', grpc, '--output-retention', '0', '--output-budget', '0', ...args] });
    const sched = scheduler;
    let pruned = 0;
    sched.child.stdout!.on('data', (chunk: Buffer) => {
      for (const m of chunk.toString().matchAll(/"deleted":(\d+),"what":"jobs past --job-retention"/g)) pruned += Number(m[1]);
    });
    const worker = dropLogs(await startWorker(scheduler, { args: ['--capacity', '64'] }));
    const prunedBefore = pruned;
    const t0 = performance.now();
    const done = (async () => {
      await submitAll(sched.api, worker.id, JOBS, ['measured']);
      await waitIdle(sched.api);
    })();
    const { maxMs, p99Ms } = await loopDelayDuring(sched.api, done);
    await done;
    const rate = JOBS / ((performance.now() - t0) / 1000);
    await worker.kill();
    return { rate, maxMs, p99Ms, prunedBefore, pruned: pruned - prunedBefore };
  } finally {
    await scheduler?.kill();
  }
}

export async function retention(): Promise<Section> {
  const dataDir = tempDir('baton-bench-retention-');
  const grpc = `127.0.0.1:${await freePort()}`;
  const seeder = await startScheduler({ dataDir, args: ['--grpc', grpc, '--output-retention', '0', '--output-budget', '0', '--job-retention', '0'] });
  const seedStart = performance.now();
  try {
    const worker = dropLogs(await startWorker(seeder, { args: ['--capacity', '64'] }));
    // In rounds, each waited for: one-line outputs come in the end reports and are kept in
    // the ends' commits (src/worker/end-output.ts), so a round's are kept once its jobs ended.
    for (let done = 0; done < PRUNE_JOBS; done += SEED_ROUND) {
      const n = Math.min(SEED_ROUND, PRUNE_JOBS - done);
      await submitAll(seeder.api, worker.id, n, ['an output line to keep']);
      await waitIdle(seeder.api, 1_800_000);
    }
    await worker.kill();
  } finally {
    await seeder.kill();
  }
  const seedS = (performance.now() - seedStart) / 1000;
  const keep = await dispatchRun(dataDir, grpc, ['--job-retention', '0']);
  const prune = await dispatchRun(dataDir, grpc, ['--job-retention', '1s']);
  const left = await (async () => {
    const s = await startScheduler({ dataDir, args: ['--grpc', grpc, '--job-retention', '0', '--output-retention', '0', '--output-budget', '0'] });
    try {
      return (await allJobs(s.api)).length;
    } finally {
      await s.kill();
    }
  })();
  return {
    title: 'Dispatch while pruning',
    method: `${fmt(PRUNE_JOBS)} finished jobs, each with a kept output (made in ${fmt(seedS)} s), in the scheduler's SQLite store; then ${fmt(JOBS)} jobs (\`echo\`, one worker of capacity 64, ${CONCURRENCY} submitters) run to the end by a scheduler on that data keeping everything, then by one with --job-retention 1s, which prunes the ${fmt(PRUNE_JOBS)} (200 jobs a transaction, a pause four times the batch's time after each) while it dispatches. Jobs/s from the first submission to an idle queue; event-loop delay from /metrics every 100 ms. BENCH_PRUNE_JOBS, BENCH_JOBS.`,
    rows: [
      { measure: 'dispatch, nothing to prune (baseline)', figure: `${fmt(keep.rate)} jobs/s; event-loop delay max ${fmt(keep.maxMs)} ms, p99 ${fmt(keep.p99Ms)} ms`, target: '-' },
      {
        measure: `dispatch while pruning ${fmt(PRUNE_JOBS)} expired jobs with output`,
        figure: `${fmt(prune.rate)} jobs/s (${fmt((prune.rate / keep.rate) * 100)}% of the baseline); event-loop delay max ${fmt(prune.maxMs)} ms, p99 ${fmt(prune.p99Ms)} ms; ${fmt(prune.prunedBefore)} jobs pruned before the first submission, ${fmt(prune.pruned)} while the jobs ran; ${fmt(left)} of ${fmt(PRUNE_JOBS + 2 * JOBS)} jobs left when it stopped`,
        target: 'at least 80% of the baseline; delay max under 100 ms',
        met: prune.rate >= keep.rate * 0.8 && prune.maxMs < 100,
      },
    ],
  };
}
