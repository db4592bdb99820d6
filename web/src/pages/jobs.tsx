import { useState } from 'preact/hooks';
import { JOB_STATES, type Job, type JobState } from '../../../src/client/index.js';
import { exitText } from '../../../src/cli/format/exit-code.js';
import { ErrorLine, navigate } from '../app.js';
import { useLive, useNow } from '../hooks.js';
import { ago, commandLine, duration } from '../lib/format.js';
import { filterFromParams, filterToParams, jobMatcher, narrowsHere, type JobsFilter } from '../lib/jobs-filter.js';
import { routeHash } from '../lib/route.js';
import { StateBadge } from './common.js';

const PAGE = 25;
/** The most `GET /v1/jobs` answers at once (src/api/jobs.ts's MAX_PAGE; not imported, so the page does not bundle TypeBox). */
const MAX_PAGE = 500;

/** The jobs list. Its filters live in the address (`#/jobs?state=failed&label=zone%3Deu`), so a reload or a shared link keeps them. */
export function JobsPage({ params }: { params: Record<string, string> }) {
  const now = useNow();
  const filter = filterFromParams(params);
  // Cursors of the pages before this one ("← Newer" goes back through them); a reloaded page starts its own.
  const [previous, setPrevious] = useState<string[]>([]);
  // Label and command filters look through the newest jobs the API filters gave, a page of MAX_PAGE at a time.
  const limit = narrowsHere(filter) ? MAX_PAGE : PAGE;
  const { data, error, live } = useLive(
    async ({ client }, signal) => {
      const [page, workers] = await Promise.all([
        client.listJobs({ state: filter.state || undefined, worker_id: filter.worker || undefined, limit, cursor: filter.cursor || undefined }, { signal }),
        client.listWorkers({ signal }),
      ]);
      return { page, workers };
    },
    [filter.state, filter.worker, filter.cursor, limit],
  );
  /** A changed filter starts from the newest page; typing replaces the address instead of adding to the history. */
  const change = (next: Partial<JobsFilter>, replace = false): void => {
    setPrevious([]);
    navigate(routeHash(['jobs'], filterToParams({ ...filter, cursor: '', ...next })), replace);
  };
  let match: (job: Job) => boolean = () => true;
  let filterError: unknown;
  try {
    match = jobMatcher(filter);
  } catch (err) {
    filterError = err;
  }
  const jobs = (data?.page.jobs ?? []).filter(match);
  // The worker filter's choices: the workers there are, and the one in the address even when it is gone.
  const workerIds = [...new Set([...(data?.workers ?? []).map((w) => w.id), ...(filter.worker ? [filter.worker] : [])])];
  return (
    <section class="card">
      <h2>Jobs</h2>
      <div class="filters">
        <label>
          State{' '}
          <select name="state" value={filter.state} onChange={(e) => change({ state: (e.target as HTMLSelectElement).value as JobState | '' })}>
            <option value="">any</option>
            {JOB_STATES.map((s) => (
              <option value={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Worker{' '}
          <select name="worker" value={filter.worker} onChange={(e) => change({ worker: (e.target as HTMLSelectElement).value })}>
            <option value="">any</option>
            {workerIds.map((id) => (
              <option value={id}>{id}</option>
            ))}
          </select>
        </label>
        <label>
          Labels{' '}
          <input name="label" type="search" placeholder="zone=eu, gpu=true" value={filter.label} onInput={(e) => change({ label: (e.target as HTMLInputElement).value }, true)} />
        </label>
        <label>
          Command{' '}
          <input name="search" type="search" placeholder="words of the command" value={filter.q} onInput={(e) => change({ q: (e.target as HTMLInputElement).value }, true)} />
        </label>
        {(filter.state || filter.worker || filter.label || filter.q) && (
          <a href="#/jobs" class="clear">
            clear filters
          </a>
        )}
      </div>
      <ErrorLine error={error ?? filterError} live={live} />
      <div class="table-wrap">
        <table class="jobs">
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
                <td class="mono">{placement(j)}</td>
                <td class="mono cmd">{commandLine(j)}</td>
                <td>{ago(j.created_at, now)}</td>
                <td>{duration(j.created_at, j.finished_at, now)}</td>
                <td data-testid="exit">{exitText(j)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {data && jobs.length === 0 && (
        <p class="muted">
          {filter.state || filter.worker || narrowsHere(filter) ? 'No job matches these filters here.' : 'No jobs here.'} Submit one from the Submit page or with{' '}
          <code>baton run</code>.
        </p>
      )}
      <div class="pager">
        <button
          type="button"
          disabled={!filter.cursor}
          onClick={() => {
            const prev = [...previous];
            const cursor = prev.pop() ?? '';
            setPrevious(prev);
            navigate(routeHash(['jobs'], filterToParams({ ...filter, cursor })));
          }}
        >
          ← Newer
        </button>
        <button
          type="button"
          disabled={!data?.page.next_cursor}
          onClick={() => {
            setPrevious([...previous, filter.cursor]);
            navigate(routeHash(['jobs'], filterToParams({ ...filter, cursor: data!.page.next_cursor ?? '' })));
          }}
        >
          Older →
        </button>
      </div>
    </section>
  );
}

/** Where the job is: its worker, why it waits, or (a run_on-all parent) how many copies it has. */
function placement(j: Job) {
  if (j.worker_id) return j.worker_id;
  if (j.children.length > 0) return <span class="muted">on {j.children.length} workers</span>;
  return <span class="muted">{j.reason ?? '–'}</span>;
}
