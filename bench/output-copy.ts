/**
 * What keeping an ended attempt's output costs the scheduler: its event-loop delay
 * (monitorEventLoopDelay, through /metrics' nodejs_eventloop_lag_* gauges, which reset at
 * each scrape) while it copies a BENCH_OUTPUT_MIB (default 256 MiB) output into its store.
 */
import http from 'node:http';
import { startScheduler, startWorker, type SchedulerHandle } from '../test/support/cluster.js';
import { post } from './http.js';
import { fmt, type Row } from './report.js';

const MIB = 1024 * 1024;
const SCRAPE_MS = 100;

function metricsText(api: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(`${api}/metrics`, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve(text));
      })
      .on('error', reject);
  });
}

function gauge(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1] ?? NaN) * 1000;
}

/** The scheduler's event-loop delay (ms) from now until `done` settles: the largest, and the worst p99 of the scrape windows. */
export async function loopDelayDuring(api: string, done: Promise<unknown>): Promise<{ maxMs: number; p99Ms: number }> {
  await metricsText(api); // resets the histogram
  let over = false;
  void done.finally(() => (over = true));
  let maxMs = 0;
  let p99Ms = 0;
  while (!over) {
    await new Promise((r) => setTimeout(r, SCRAPE_MS));
    const text = await metricsText(api);
    maxMs = Math.max(maxMs, gauge(text, 'nodejs_eventloop_lag_max_seconds'));
    p99Ms = Math.max(p99Ms, gauge(text, 'nodejs_eventloop_lag_p99_seconds'));
  }
  return { maxMs, p99Ms };
}

/** `jobs` jobs write `sizeMiB` each at once; the scheduler's loop delay from their submission until their outputs are kept. */
export async function outputCopyRows(sizeMiB: number, jobs = 1): Promise<Row[]> {
  let scheduler: SchedulerHandle | undefined;
  try {
    scheduler = await startScheduler({ args: ['--output-retention', '0', '--output-budget', '0'] });
    const api = scheduler.api;
    const worker = await startWorker(scheduler, { args: ['--output-cap', `${sizeMiB + 1}MiB`] });
    const sched = scheduler;
    const kept = Promise.all(
      Array.from({ length: jobs }, async () => {
        const job = await post<{ id: string }>(`${api}/v1/jobs`, { worker_id: worker.id, command: 'bash', args: ['-c', `head -c ${sizeMiB * MIB} /dev/zero`] });
        const id = String(job.id);
        return sched.waitForLog((l) => l.msg === 'job output kept' && l.job_id === id, 600_000);
      }),
    );
    const t0 = performance.now();
    const { maxMs, p99Ms } = await loopDelayDuring(api, kept);
    const copyMs = performance.now() - t0;
    await worker.kill();
    return [
      {
        measure: `scheduler event-loop delay while it keeps ${jobs === 1 ? 'a' : `${jobs} ×`} ${sizeMiB} MiB output${jobs === 1 ? '' : 's'}`,
        figure: `max ${fmt(maxMs)} ms, p99 ${fmt(p99Ms)} ms (job and copy ${fmt(copyMs)} ms, ${fmt((jobs * sizeMiB) / (copyMs / 1000))} MiB/s)`,
        target: 'max under 100 ms',
        met: maxMs < 100,
      },
    ];
  } finally {
    await scheduler?.kill();
  }
}
