import { useState } from 'preact/hooks';
import type { JobState } from '../../../src/client/index.js';

export function StateBadge({ state, draining }: { state: JobState | string; draining?: boolean }) {
  return (
    <span class={`badge state-${state}`}>
      {state}
      {draining ? ' (draining)' : ''}
    </span>
  );
}

export function Labels({ labels }: { labels: Record<string, string> | undefined }) {
  const entries = Object.entries(labels ?? {});
  if (entries.length === 0) return <span class="muted">–</span>;
  return (
    <span>
      {entries.map(([k, v]) => (
        <span class="label">
          {k}={v}
        </span>
      ))}
    </span>
  );
}

/**
 * A button whose action is asked about first: the first click shows the question with a
 * confirming button and Cancel; only the confirming click acts.
 */
export function ConfirmButton({
  label,
  question,
  confirm,
  onConfirm,
  busy = false,
  danger = true,
}: {
  label: string;
  question: string;
  confirm: string;
  onConfirm: () => void;
  busy?: boolean;
  danger?: boolean;
}) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <button type="button" class={danger ? 'danger' : ''} disabled={busy} onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  }
  return (
    <fieldset class="confirm" aria-label={question}>
      <span>{question}</span>{' '}
      <button
        type="button"
        class="danger"
        onClick={() => {
          setAsking(false);
          onConfirm();
        }}
      >
        {confirm}
      </button>{' '}
      <button type="button" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </fieldset>
  );
}
