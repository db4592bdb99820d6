/**
 * Issue 19's figure: the dispatch rate with 1,000 concurrency keys of limit 1 against the same
 * jobs without keys, in the same run. Each round queues every job behind drained workers,
 * then undrains them: the rate is jobs dispatched, run and recorded per second from a full
 * queue, where each pass of the planner walks the jobs its keys hold back.
 */
import { startScheduler, startWorker, jobsDir, cleanUp } from '../test/support/cluster.js';
import { allJobs, lastRecorded, post, request, waitIdle } from './http.js';
import { dropLogs } from './proc.js';
import { fmt, type Section } from './report.js';
import { runPool } from './stats.js';

const KEYS = Number(process.env.BENCH_FLOW_KEYS ?? 1000);
const JOBS = Number(process.env.BENCH_FLOW_JOBS ?? 3000);
const ROUNDS = Number(process.env.BENCH_FLOW_ROUNDS ?? 2);
const BATCH = 500;
const RATIO_TARGET = 0.8;

interface Round {
  rate: number;
  succeeded: number;
}

/** One round on a fresh scheduler and two workers: `keyed` gives job i the key i mod KEYS, limit 1. */
async function round(keyed: boolean): Promise<Round> {
  const jobs = jobsDir({ 'noop.sh': '' });
  const scheduler = dropLogs(await startScheduler());
  const workers = (await Promise.all([0, 1].map(() => startWorker(scheduler, { jobsDir: jobs, args: ['--capacity', '256'] })))).map(dropLogs);
  try {
    for (const w of workers) await post(`${scheduler.api}/v1/workers/${w.id}/drain`, {});
    await runPool(Math.ceil(JOBS / BATCH), 4, async (b) => {
      const n = Math.min(BATCH, JOBS - b * BATCH);
      await post(`${scheduler.api}/v1/jobs/batch`, {
        jobs: Array.from({ length: n }, (_, k) => ({
          command: 'true',
          path: 'noop.sh',
          ...(keyed && { concurrency: { key: `k-${(b * BATCH + k) % KEYS}`, limit: 1 } }),
        })),
      });
    });
    const t0 = Date.now();
    for (const w of workers) await request('DELETE', `${scheduler.api}/v1/workers/${w.id}/drain`);
    await waitIdle(scheduler.api);
    const elapsed = (await lastRecorded(scheduler.api)) - t0;
    return { rate: JOBS / (elapsed / 1000), succeeded: (await allJobs(scheduler.api, 'state=succeeded')).length };
  } finally {
    await Promise.all([...workers.map((w) => w.kill()), scheduler.kill()]);
    await cleanUp();
  }
}

export async function flow(): Promise<Section> {
  const plain: Round[] = [];
  const keyed: Round[] = [];
  // Alternated, so a slow spell of the shared machine does not fall on one side only.
  for (let r = 0; r < ROUNDS; r++) {
    plain.push(await round(false));
    keyed.push(await round(true));
  }
  const best = (rounds: Round[]): number => Math.max(...rounds.map((x) => x.rate));
  const ratio = best(keyed) / best(plain);
  const succeeded = [...plain, ...keyed].every((x) => x.succeeded === JOBS);
  return {
    title: `Flow control: dispatch with ${fmt(KEYS)} concurrency keys of limit 1`,
    method: `${fmt(JOBS)} \`true\` jobs queued behind two drained workers (capacity 256 each), then undrained; the rate is jobs over the time from the undrain to the last job recorded. Keyed: job i carries key i mod ${fmt(KEYS)}, limit 1 (so ${fmt(Math.ceil(JOBS / KEYS))} jobs a key wait in turn); plain: the same jobs without keys. ${ROUNDS} rounds of each, alternated, best of each. BENCH_FLOW_KEYS, BENCH_FLOW_JOBS, BENCH_FLOW_ROUNDS set the sizes.`,
    rows: [
      { measure: 'jobs succeeded, every round', figure: succeeded ? 'all' : 'not all', target: 'all', met: succeeded },
      { measure: 'dispatch rate without keys (baseline)', figure: `${fmt(best(plain))} jobs/s (${plain.map((x) => fmt(x.rate)).join(', ')})`, target: '' },
      { measure: `dispatch rate with ${fmt(KEYS)} keys of limit 1`, figure: `${fmt(best(keyed))} jobs/s (${keyed.map((x) => fmt(x.rate)).join(', ')})`, target: '' },
      { measure: 'keyed / baseline', figure: `${fmt(ratio, 2)}×`, target: `≥ ${RATIO_TARGET}×`, met: ratio >= RATIO_TARGET },
    ],
  };
}
