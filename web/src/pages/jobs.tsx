import { useState } from 'preact/hooks';
import { JOB_STATES, type JobState } from '../../../src/client/index.js';
import { ErrorLine } from '../app.js';
import { useLive, useNow } from '../hooks.js';
import { ago, commandLine, duration } from '../lib/format.js';
import { StateBadge } from './common.js';

const PAGE = 25;

function initialState(): JobState | '' {
  const m = /[?&]state=([a-z_]+)/.exec(location.hash);
  return m && (JOB_STATES as readonly string[]).includes(m[1]!) ? (m[1] as JobState) : '';
}

export function JobsPage() {
  const now = useNow();
  const [state, setState] = useState<JobState | ''>(initialState());
  const [worker, setWorker] = useState('');
  const [search, setSearch] = useState('');
  // Cursors of the pages before this one: "previous" pops, "next" pushes.
  const [cursors, setCursors] = useState<string[]>([]);
  const [cursor, setCursor] = useState<string | undefined>(undefined);
  const { data, error, live } = useLive(
    async ({ client }, signal) => {
      const [page, workers] = await Promise.all([
        client.listJobs({ state: state || undefined, worker_id: worker || undefined, limit: PAGE, cursor }, { signal }),
        client.listWorkers({ signal }),
      ]);
      return { page, workers };
    },
    [state, worker, cursor],
  );
  const reset = (): void => {
    setCursors([]);
    setCursor(undefined);
  };
  const needle = search.trim().toLowerCase();
  const jobs = (data?.page.jobs ?? []).filter((j) => !needle || commandLine(j).toLowerCase().includes(needle));
  return (
    <section class="card">
      <h2>Jobs</h2>
      <div class="filters">
        <label>
          State{' '}
          <select
            name="state"
            value={state}
            onChange={(e) => {
              setState((e.target as HTMLSelectElement).value as JobState | '');
              reset();
            }}
          >
            <option value="">any</option>
            {JOB_STATES.map((s) => (
              <option value={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Worker{' '}
          <select
            name="worker"
            value={worker}
            onChange={(e) => {
              setWorker((e.target as HTMLSelectElement).value);
              reset();
            }}
          >
            <option value="">any</option>
            {(data?.workers ?? []).map((w) => (
              <option value={w.id}>{w.id}</option>
            ))}
          </select>
        </label>
        <label>
          Command <input name="search" type="search" placeholder="search this page" value={search} onInput={(e) => setSearch((e.target as HTMLInputElement).value)} />
        </label>
      </div>
      <ErrorLine error={error} live={live} />
      <table>
        <thead>
          <tr>
            <th>Job</th>
            <th>State</th>
            <th>Worker</th>
            <th>Command</th>
            <th>Created</th>
            <th>Duration</th>
            <th>Exit</th>
          </tr>
        </thead>
        <tbody>
          {jobs.map((j) => (
            <tr data-job={j.id}>
              <td class="mono">
                <a href={`#/jobs/${encodeURIComponent(j.id)}`}>{j.id.slice(0, 13)}…</a>
              </td>
              <td>
                <StateBadge state={j.state} />
              </td>
              <td class="mono">{j.worker_id || <span class="muted">{j.reason ?? '–'}</span>}</td>
              <td class="mono cmd">{commandLine(j)}</td>
              <td>{ago(j.created_at, now)}</td>
              <td>{duration(j.created_at, j.finished_at, now)}</td>
              <td>{j.exit_code ?? j.signal ?? '–'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {data && jobs.length === 0 && (
        <p class="muted">
          No jobs here. Submit one from the Submit page or with <code>baton run</code>.
        </p>
      )}
      <div class="pager">
        <button
          type="button"
          disabled={cursors.length === 0}
          onClick={() => {
            const prev = [...cursors];
            const c = prev.pop();
            setCursors(prev);
            setCursor(c === '' ? undefined : c);
          }}
        >
          ← Newer
        </button>
        <button
          type="button"
          disabled={!data?.page.next_cursor}
          onClick={() => {
            setCursors([...cursors, cursor ?? '']);
            setCursor(data!.page.next_cursor ?? undefined);
          }}
        >
          Older →
        </button>
      </div>
    </section>
  );
}
