import { useEffect, useRef, useState } from 'preact/hooks';
import { JOB_STATES, type Job, type Worker } from '../../../src/client/index.js';
import { ErrorLine } from '../app.js';
import { useLive, useNow } from '../hooks.js';
import { axisTicks, axisTop, finishedPerMinute, type MinuteCounts } from '../lib/chart.js';
import { routeHash } from '../lib/route.js';
import { StateBadge } from './common.js';

const PAGE = 500;
const MINUTES = 15;

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
  // An unreachable worker heartbeats (its state is up) but takes no job: it is not counted as up.
  const reachable = workers.filter((w) => w.state === 'up' && !w.unreachable);
  const unreachable = workers.filter((w) => w.state === 'up' && w.unreachable).length;
  return (
    <>
      <ErrorLine error={error} live={live} />
      <section class="cards">
        <a class="card stat" data-testid="workers-up" href="#/workers">
          <div class="figure">{reachable.length}</div>
          <div>workers up</div>
        </a>
        <a class="card stat" data-testid="workers-down" href="#/workers">
          <div class="figure">{workers.filter((w) => w.state === 'down').length + unreachable}</div>
          <div>workers down{unreachable > 0 ? ` or unreachable (${unreachable})` : ''}</div>
        </a>
        <a class="card stat" href={routeHash(['jobs'], { state: 'running' })}>
          <div class="figure">{reachable.reduce((n, w) => n + w.running, 0)}</div>
          <div>jobs running now</div>
        </a>
      </section>
      <section class="card">
        <h2>Jobs by state</h2>
        <div class="states">
          {JOB_STATES.map((state, i) => (
            <a class="state-count" href={routeHash(['jobs'], { state })} data-state={state}>
              <StateBadge state={state} />
              <span class="figure-small">{data ? `${data.counts[i]!.n}${data.counts[i]!.more ? '+' : ''}` : '…'}</span>
            </a>
          ))}
        </div>
      </section>
      <section class="card">
        <h2>Jobs finished per minute, last {MINUTES} minutes</h2>
        <Chart counts={finishedPerMinute(data?.recent ?? ([] as Job[]), now, MINUTES)} />
      </section>
    </>
  );
}

// The chart's height and margins, in pixels; its width is the card's (measured, so text is never scaled).
const H = 160;
const LEFT = 34;
const BOTTOM = 20;
const TOP = 14;

/** Stacked bars: succeeded below, the rest (failed, timed out, lost, stopped) above; the y axis counts jobs, the x axis is minutes ago. */
function Chart({ counts }: { counts: MinuteCounts }) {
  const box = useRef<HTMLElement>(null);
  const [W, setW] = useState(300);
  useEffect(() => {
    if (!box.current) return;
    const observer = new ResizeObserver(([entry]) => {
      if (entry) setW(Math.max(200, Math.floor(entry.contentRect.width)));
    });
    observer.observe(box.current);
    return () => observer.disconnect();
  }, []);
  const n = counts.succeeded.length;
  const totals = counts.succeeded.map((s, i) => s + counts.failed[i]!);
  const top = axisTop(Math.max(0, ...totals));
  const plotH = H - BOTTOM - TOP;
  const slot = (W - LEFT) / n;
  const y = (v: number): number => TOP + plotH - (v / top) * plotH;
  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
  return (
    <figure class="chart" data-testid="throughput" ref={box}>
      <svg width={W} height={H} role="img" aria-label={`jobs finished per minute: ${sum(counts.succeeded)} succeeded, ${sum(counts.failed)} failed`}>
        {axisTicks(top).map((t) => (
          <g class="tick">
            <line x1={LEFT} x2={W} y1={y(t)} y2={y(t)} />
            <text x={LEFT - 6} y={y(t) + 4} text-anchor="end">
              {t}
            </text>
          </g>
        ))}
        {totals.map((total, i) => {
          const x = LEFT + i * slot + slot * 0.15;
          const w = slot * 0.7;
          const s = counts.succeeded[i]!;
          const f = counts.failed[i]!;
          const minutesAgo = n - 1 - i;
          return (
            <g class="minute" data-succeeded={s} data-failed={f}>
              <title>{`${minutesAgo === 0 ? 'this minute' : `${minutesAgo} min ago`}: ${s} succeeded, ${f} failed`}</title>
              {s > 0 && <rect class="ok" x={x} width={w} y={y(s)} height={y(0) - y(s)} />}
              {f > 0 && <rect class="bad" x={x} width={w} y={y(total)} height={y(s) - y(total)} />}
              {total > 0 && (
                <text class="value" x={x + w / 2} y={y(total) - 3} text-anchor="middle">
                  {total}
                </text>
              )}
            </g>
          );
        })}
        <line class="axis" x1={LEFT} x2={W} y1={y(0)} y2={y(0)} />
        <line class="axis" x1={LEFT} x2={LEFT} y1={TOP} y2={y(0)} />
        {[n - 1, 10, 5, 0]
          .filter((ago) => ago < n)
          .map((ago) => (
            <text class="xlabel" x={LEFT + (n - 1 - ago) * slot + slot / 2} y={H - 4} text-anchor="middle">
              {ago === 0 ? 'now' : `−${ago}m`}
            </text>
          ))}
      </svg>
      <figcaption class="legend">
        <span>
          <span class="swatch ok" />
          succeeded ({sum(counts.succeeded)})
        </span>
        <span>
          <span class="swatch bad" />
          failed, timed out, lost or stopped ({sum(counts.failed)})
        </span>
      </figcaption>
    </figure>
  );
}
