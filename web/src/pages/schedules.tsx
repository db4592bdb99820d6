import type { Schedule } from '../../../src/client/index.js';
import { ErrorLine } from '../app.js';
import { useAction, useLive, useNow } from '../hooks.js';
import { ago, commandLine, duration } from '../lib/format.js';
import { StateBadge } from './common.js';

/** The schedules: next run, last run with its state; pause, resume and trigger. */
export function SchedulesPage() {
  const now = useNow();
  const { act, error: actionError, done } = useAction();
  const { data, error, live } = useLive(({ client }, signal) => client.listSchedules({ signal }), [done]);
  const next = (s: Schedule): string => (s.paused ? 'paused' : s.next_run_at ? `in ${duration(new Date(now).toISOString(), s.next_run_at, now)}` : '–');
  return (
    <section class="card">
      <h2>Schedules</h2>
      <ErrorLine error={error ?? actionError} live={live} />
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th>Schedule</th>
              <th>Cron</th>
              <th>Command</th>
              <th>Next run</th>
              <th>Last run</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {(data ?? []).map((s) => (
              <tr data-schedule={s.name}>
                <td class="mono">{s.name}</td>
                <td class="mono" title={`overlap ${s.overlap}, catch-up window ${s.catchup_window}s`}>
                  {s.cron} <span class="muted">{s.timezone}</span>
                </td>
                <td class="mono">{commandLine(s.job)}</td>
                <td>{next(s)}</td>
                <td>
                  {s.last_run ? (
                    <a href={`#/jobs/${encodeURIComponent(s.last_run.job_id)}`}>
                      <StateBadge state={s.last_run.state} /> {ago(s.last_run.created_at, now)}
                    </a>
                  ) : (
                    <span class="muted">–</span>
                  )}
                </td>
                <td>
                  {live.can('operator') && (
                    <>
                      <button type="button" onClick={() => void act(() => live.client.updateSchedule(s.name, { paused: !s.paused }))}>
                        {s.paused ? 'Resume' : 'Pause'}
                      </button>{' '}
                      <button type="button" onClick={() => void act(() => live.client.triggerSchedule(s.name))}>
                        Trigger
                      </button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {data?.length === 0 && (
        <p class="muted">
          No schedules yet: make one with <code>baton schedule create NAME --cron EXPR -- CMD</code>.
        </p>
      )}
    </section>
  );
}
