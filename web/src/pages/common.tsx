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
