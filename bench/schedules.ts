/**
 * Issue 18's figures: 1,000 schedules firing on the same second. Fire lag (from a tick to its
 * job created, as the jobs record it) and the scheduler's CPU for that second. No worker: the
 * runs wait queued (overlap allow), so the figures are the scheduler's firing alone.
 */
import { startScheduler, cleanUp } from '../test/support/cluster.js';
import { allJobs, post } from './http.js';
import { cpuSeconds, dropLogs } from './proc.js';
import { fmt, type Section } from './report.js';
import { percentile, runPool } from './stats.js';

const SCHEDULES = Number(process.env.BENCH_SCHEDULES ?? 1000);
/** Every schedule fires at the same seconds: 0, 10, 20… of each minute. */
const EVERY_S = 10;
const LAG_P99_TARGET_MS = 1_000;

export async function schedules(): Promise<Section> {
  const scheduler = dropLogs(await startScheduler());
  try {
    await runPool(SCHEDULES, 8, async (i) => {
      await post(`${scheduler.api}/v1/schedules`, { name: `bench-${i}`, cron: `*/${EVERY_S} * * * * *`, job: { command: 'true' }, overlap: 'allow' });
    });
    // The first tick after every schedule exists, with a second to spare.
    const tick = Math.ceil((Date.now() + 1_000) / (EVERY_S * 1000)) * EVERY_S * 1000;
    await new Promise((r) => setTimeout(r, tick - Date.now() - 500));
    const cpu0 = cpuSeconds(scheduler.pid);
    let fired: { created_at: string; scheduled_for: string | null }[] = [];
    const deadline = Date.now() + 60_000;
    while (fired.length < SCHEDULES && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      fired = ((await allJobs(scheduler.api)) as unknown as typeof fired).filter((j) => j.scheduled_for !== null && Date.parse(j.scheduled_for) === tick);
    }
    const cpu = cpuSeconds(scheduler.pid) - cpu0;
    const lags = fired.map((j) => Date.parse(j.created_at) - tick);
    const p99 = percentile(lags, 99);
    return {
      title: `Schedules: ${fmt(SCHEDULES)} firing on the same second`,
      method: `${fmt(SCHEDULES)} schedules \`*/${EVERY_S} * * * * *\` on one scheduler (SQLite), no worker (the runs wait queued); one tick measured. Lag is from the tick to its job created; CPU is the scheduler's from half a second before the tick until every job of it was listed (the listing's own cost included). BENCH_SCHEDULES sets the number.`,
      rows: [
        { measure: 'ticks fired (jobs created for the tick)', figure: `${fmt(fired.length)} of ${fmt(SCHEDULES)}`, target: 'all', met: fired.length === SCHEDULES },
        { measure: 'fire lag p50', figure: `${fmt(percentile(lags, 50))} ms`, target: '' },
        { measure: 'fire lag p99', figure: `${fmt(p99)} ms`, target: `under ${fmt(LAG_P99_TARGET_MS)} ms`, met: p99 < LAG_P99_TARGET_MS },
        { measure: 'fire lag max', figure: `${fmt(Math.max(...lags))} ms`, target: '' },
        { measure: 'scheduler CPU for the tick', figure: `${fmt(cpu, 2)} s (${fmt((cpu * 1000) / Math.max(1, fired.length), 2)} ms a fire)`, target: '' },
      ],
    };
  } finally {
    await scheduler.kill();
    await cleanUp();
  }
}
