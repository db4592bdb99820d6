import { useContext, useState } from 'preact/hooks';
import type { SubmitJobRequest } from '../../../src/client/index.js';
import { ErrorLine, LiveContext } from '../app.js';
import { useLive } from '../hooks.js';
import { parseLabelText, splitArgs } from '../lib/format.js';
import { parseDuration } from '../../../src/common/duration.js';

export function SubmitPage() {
  const live = useContext(LiveContext);
  const { data: workers } = useLive(({ client }, signal) => client.listWorkers({ signal }));
  const [form, setForm] = useState({ command: '', args: '', path: '', worker: '', labels: '', timeout: '', retries: '0' });
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const field = (name: keyof typeof form) => ({
    name,
    value: form[name],
    onInput: (e: Event) => setForm({ ...form, [name]: (e.target as HTMLInputElement).value }),
  });
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setError(undefined);
    setBusy(true);
    try {
      const request: SubmitJobRequest = { command: form.command.trim(), args: splitArgs(form.args) };
      if (form.path.trim()) request.path = form.path.trim();
      if (form.worker) request.worker_id = form.worker;
      const labels = parseLabelText(form.labels);
      if (Object.keys(labels).length > 0) request.labels = labels;
      if (form.timeout.trim()) request.timeout = timeoutSeconds(form.timeout);
      const retries = Number(form.retries);
      if (retries > 0) request.retry = { max_attempts: retries + 1, on: ['failed', 'lost', 'timed_out'] };
      const job = await live.client.submitJob(request);
      location.hash = `#/jobs/${encodeURIComponent(job.id)}`;
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card narrow">
      <h2>Submit a job</h2>
      <form class="submit" onSubmit={(e) => void submit(e)}>
        <label>
          Command <input {...field('command')} required placeholder="bash" />
        </label>
        <label>
          Arguments <input {...field('args')} placeholder={`-c "echo hi; sleep 5"`} />
        </label>
        <label>
          Script in the jobs folder <input {...field('path')} placeholder="count.sh" />
        </label>
        <label>
          Worker{' '}
          <select {...field('worker')} onChange={(e) => setForm({ ...form, worker: (e.target as HTMLSelectElement).value })}>
            <option value="">any (placed by the scheduler)</option>
            {(workers ?? [])
              .filter((w) => w.state === 'up')
              .map((w) => (
                <option value={w.id}>{w.id}</option>
              ))}
          </select>
        </label>
        <label>
          Labels <input {...field('labels')} placeholder="zone=a, gpu=true" />
        </label>
        <label>
          Timeout <input {...field('timeout')} placeholder="none (e.g. 30s, 5m, 1h30m; a bare number is seconds)" />
        </label>
        <label>
          Retries <input {...field('retries')} type="number" min="0" max="99" />
        </label>
        <ErrorLine error={error} live={live} />
        <button type="submit" disabled={busy || form.command.trim() === ''}>
          {busy ? 'Submitting…' : 'Submit'}
        </button>
      </form>
    </section>
  );
}

/** The form's timeout, read as every duration is (a bare number is seconds), in the API's seconds. */
function timeoutSeconds(text: string): number {
  try {
    return parseDuration(text, { positive: true }) / 1000;
  } catch (err) {
    throw new Error(`timeout "${text.trim()}": ${(err as Error).message}`);
  }
}
