import { BatonApiError, type JobDetail } from '../../../src/client/index.js';
import { attemptExitCode, exitText } from '../../../src/cli/format/exit-code.js';
import { ErrorLine } from '../app.js';
import { useLive, useNow } from '../hooks.js';
import { formatDuration } from '../../../src/common/duration.js';
import { ago, commandLine, duration } from '../lib/format.js';
import { Labels, StateBadge } from './common.js';
import { JobActions } from './job-actions.js';
import { JobChildren } from './job-children.js';
import { JobOutput } from './job-output.js';

export function JobPage({ id }: { id: string }) {
  const now = useNow();
  const { data: job, error, live } = useLive(({ client }, signal) => client.getJob(id, { signal }), [id]);
  const placed = Boolean(job?.worker_id);
  return (
    <>
      <section class="card">
        <h2 data-testid="job-title">
          Job {job?.name ? `${job.name} ` : ''}
          <span class="mono">{id}</span>
        </h2>
        <ErrorLine error={error} live={live} />
        {!job && error instanceof BatonApiError && error.status === 404 && (
          <p>
            <a href="#/jobs">← Back to the jobs</a>
          </p>
        )}
        {job && (
          <>
            <dl class="facts">
              <dt>State</dt>
              <dd data-testid="job-state">
                <StateBadge state={job.state} />
                {job.reason && (job.state === 'queued' || job.state === 'waiting' || job.state === 'skipped') ? <span class="muted"> {job.reason}</span> : null}
              </dd>
              <dt>Command</dt>
              <dd class="mono">{commandLine(job)}</dd>
              <dt>Worker</dt>
              <dd class="mono">{job.worker_id || (job.children.length > 0 ? `every matching worker (${job.children.length})` : '–')}</dd>
              {job.parent_id ? (
                <>
                  <dt>Copy of</dt>
                  <dd class="mono" data-testid="job-parent">
                    <a href={`#/jobs/${encodeURIComponent(job.parent_id)}`}>{job.parent_id}</a> <span class="muted">(run on every matching worker)</span>
                  </dd>
                </>
              ) : null}
              <dt>Labels</dt>
              <dd>
                <Labels labels={job.labels} />
              </dd>
              <dt>Created</dt>
              <dd>{ago(job.created_at, now)}</dd>
              <dt>Duration</dt>
              <dd>{duration(job.created_at, job.finished_at, now)}</dd>
              {job.timeout ? (
                <>
                  <dt>Timeout</dt>
                  <dd data-testid="job-timeout">{formatDuration(Math.round(job.timeout * 1000))}</dd>
                </>
              ) : null}
              <dt>Exit</dt>
              <dd data-testid="job-exit">
                {exitText(job)}
                {job.error ? ` — ${job.error}` : ''}
              </dd>
              {job.submitted_by ? (
                <>
                  <dt>Submitted by</dt>
                  <dd>{job.submitted_by}</dd>
                </>
              ) : null}
              {job.stopped_by ? (
                <>
                  <dt>Stopped by</dt>
                  <dd>{job.stopped_by}</dd>
                </>
              ) : null}
            </dl>
            <JobActions job={job} live={live} />
          </>
        )}
      </section>
      {job && job.children.length > 0 && <JobChildren job={job} />}
      {job && <Dependencies job={job} />}
      {job && job.attempts.length > 0 && (
        <section class="card">
          <h2>Attempts</h2>
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>#</th>
                  <th>Worker</th>
                  <th>State</th>
                  <th>Started</th>
                  <th>Finished</th>
                  <th>Exit</th>
                  <th>Error</th>
                </tr>
              </thead>
              <tbody>
                {job.attempts.map((a) => (
                  <tr>
                    <td>{a.number}</td>
                    <td class="mono">{a.worker_id || '–'}</td>
                    <td>
                      <StateBadge state={a.state} />
                    </td>
                    <td>{ago(a.started_at, now)}</td>
                    <td>{ago(a.finished_at, now)}</td>
                    <td>{attemptExitCode(job, a) ?? '-'}</td>
                    <td>{a.error ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      )}
      {placed && <JobOutput id={id} attempt={job?.attempt ?? 1} />}
    </>
  );
}

// The jobs listed as waiting for this one (the API pages the rest).
const DEPENDENTS_SHOWN = 50;

/** What the job waits for (its `after`) and the jobs that wait for it, each a link to its page. */
function Dependencies({ job }: { job: JobDetail }) {
  const { data } = useLive(({ client }, signal) => client.listJobs({ after: job.id, limit: DEPENDENTS_SHOWN }, { signal }), [job.id]);
  const dependents = data?.jobs ?? [];
  if (job.after.length === 0 && dependents.length === 0) return null;
  return (
    <section class="card">
      <h2>Dependencies</h2>
      <dl class="facts">
        {job.after.length > 0 && (
          <>
            <dt>Waits for</dt>
            <dd data-testid="job-after">
              {job.after.map((id) => (
                <div>
                  <a class="mono" href={`#/jobs/${encodeURIComponent(id)}`}>
                    {id}
                  </a>
                </div>
              ))}
              <span class="muted">each must {job.after_condition === 'succeeded' ? 'succeed' : 'finish'}</span>
            </dd>
          </>
        )}
        {dependents.length > 0 && (
          <>
            <dt>Waited for by</dt>
            <dd data-testid="job-dependents">
              {dependents.map((d) => (
                <div data-job={d.id}>
                  <a class="mono" href={`#/jobs/${encodeURIComponent(d.id)}`}>
                    {d.id}
                  </a>{' '}
                  <StateBadge state={d.state} />
                </div>
              ))}
            </dd>
          </>
        )}
      </dl>
    </section>
  );
}
