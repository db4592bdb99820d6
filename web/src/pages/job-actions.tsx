import { useState } from 'preact/hooks';
import { isFinalJobState, type Job } from '../../../src/client/index.js';
import { ErrorLine, navigate, type Live } from '../app.js';
import { rerunRequest } from '../lib/job-spec.js';
import { ConfirmButton } from './common.js';

/** The job's buttons, for a caller whose role allows them: stop (asked first), and run again (a copy of its spec, then its page). */
export function JobActions({ job, live }: { job: Job; live: Live }) {
  const [busy, setBusy] = useState<'' | 'stop' | 'rerun'>('');
  const [error, setError] = useState<unknown>(undefined);
  if (!live.can('operator')) return null;
  const run = async (what: 'stop' | 'rerun', call: () => Promise<void>): Promise<void> => {
    setBusy(what);
    setError(undefined);
    try {
      await call();
    } catch (err) {
      setError(err);
    } finally {
      setBusy('');
    }
  };
  return (
    <div class="actions">
      <ErrorLine error={error} live={live} />
      {!isFinalJobState(job.state) && (
        <ConfirmButton
          label={busy === 'stop' ? 'Stopping…' : 'Stop job'}
          busy={busy !== ''}
          question={job.children.length > 0 ? `Stop this job and its ${job.children.length} copies?` : 'Stop this job? It is sent SIGTERM, then SIGKILL after the grace.'}
          confirm="Yes, stop it"
          onConfirm={() =>
            void run('stop', async () => {
              await live.client.stopJob(job.id);
            })
          }
        />
      )}{' '}
      <button
        type="button"
        disabled={busy !== ''}
        title="submit a copy of this job"
        onClick={() =>
          void run('rerun', async () => {
            const copy = await live.client.submitJob(rerunRequest(job));
            navigate(`#/jobs/${encodeURIComponent(copy.id)}`);
          })
        }
      >
        {busy === 'rerun' ? 'Submitting…' : 'Re-run'}
      </button>
    </div>
  );
}
