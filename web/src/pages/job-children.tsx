import { exitText } from '../../../src/cli/format/exit-code.js';
import type { Job } from '../../../src/client/index.js';
import { ErrorLine } from '../app.js';
import { useLive, useNow } from '../hooks.js';
import { duration } from '../lib/format.js';
import { StateBadge } from './common.js';

// A run_on-all job has one copy per worker; past this many the rest are counted, not shown.
const SHOWN = 100;

/** A run_on-all parent's copies: one per worker, each with its state and exit. */
export function JobChildren({ job }: { job: Job }) {
  const now = useNow();
  const ids = job.children.slice(0, SHOWN);
  const { data, error, live } = useLive(({ client }, signal) => Promise.all(ids.map((id) => client.getJob(id, { signal }))), [ids.join(',')]);
  return (
    <section class="card" data-testid="children">
      <h2>Copies, one per worker ({job.children.length})</h2>
      <ErrorLine error={error} live={live} />
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th>Job</th>
              <th>Worker</th>
              <th>State</th>
              <th>Duration</th>
              <th>Exit</th>
            </tr>
          </thead>
          <tbody>
            {(data ?? []).map((c) => (
              <tr data-child={c.id}>
                <td class="mono">
                  <a href={`#/jobs/${encodeURIComponent(c.id)}`}>{c.id.slice(0, 13)}…</a>
                </td>
                <td class="mono">{c.worker_id ?? '–'}</td>
                <td>
                  <StateBadge state={c.state} />
                </td>
                <td>{duration(c.created_at, c.finished_at, now)}</td>
                <td>{exitText(c)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {job.children.length > SHOWN && <p class="muted">and {job.children.length - SHOWN} more</p>}
    </section>
  );
}
