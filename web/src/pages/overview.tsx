import { JOB_STATES, type Job, type Worker } from '../../../src/client/index.js';
import { ErrorLine } from '../app.js';
import { useLive, useNow } from '../hooks.js';
import { throughput } from '../lib/format.js';
import { StateBadge } from './common.js';

const PAGE = 500;

export function Overview() {
  const now = useNow();
  const { data, error, live } = useLive(async ({ client }, signal) => {
    const [workers, recent, ...byState] = await Promise.all([
      client.listWorkers({ signal }),
      client.listJobs({ limit: PAGE }, { signal }),
      ...JOB_STATES.map((state) => client.listJobs({ state, limit: PAGE }, { signal })),
    ]);
    return { workers, recent: recent.jobs, counts: byState.map((p) => ({ n: p.jobs.length, more: p.next_cursor !== null })) };
  });
  const workers: Worker[] = data?.workers ?? [];
  const bins = throughput(
    (data?.recent ?? []).map((j: Job) => j.finished_at),
    now,
  );
  const peak = Math.max(1, ...bins);
  return (
    <>
      <ErrorLine error={error} live={live} />
      <section class="cards">
        <div class="card stat" data-testid="workers-up">
          <div class="figure">{workers.filter((w) => w.state === 'up').length}</div>
          <div>workers up</div>
        </div>
        <div class="card stat" data-testid="workers-down">
          <div class="figure">{workers.filter((w) => w.state === 'down').length}</div>
          <div>workers down</div>
        </div>
        <div class="card stat">
          <div class="figure">{workers.reduce((n, w) => n + (w.state === 'up' ? w.running : 0), 0)}</div>
          <div>jobs running now</div>
        </div>
      </section>
      <section class="card">
        <h2>Jobs by state</h2>
        <div class="states">
          {JOB_STATES.map((state, i) => (
            <a class="state-count" href={`#/jobs?state=${state}`}>
              <StateBadge state={state} />
              <span class="figure-small">{data ? `${data.counts[i]!.n}${data.counts[i]!.more ? '+' : ''}` : '…'}</span>
            </a>
          ))}
        </div>
      </section>
      <section class="card">
        <h2>Finished per minute, last 15 minutes</h2>
        <div class="bars" role="img" aria-label="jobs finished per minute">
          {bins.map((n, i) => (
            <div class="bar" title={`${n} jobs, ${bins.length - i} min ago`} style={{ height: `${(n / peak) * 100}%` }} />
          ))}
        </div>
      </section>
    </>
  );
}
