import { ErrorLine } from '../app.js';
import { useAction, useLive, useNow } from '../hooks.js';
import { ago } from '../lib/format.js';
import { Labels, StateBadge } from './common.js';

export function WorkersPage() {
  const now = useNow();
  const { act, error: actionError, done } = useAction();
  const { data, error, live } = useLive(({ client }, signal) => client.listWorkers({ signal }), [done]);
  const toggle = (id: string, draining: boolean): Promise<void> => act(() => (draining ? live.client.undrainWorker(id) : live.client.drainWorker(id)));
  return (
    <section class="card">
      <h2>Workers</h2>
      <ErrorLine error={error ?? actionError} live={live} />
      <table>
        <thead>
          <tr>
            <th>Worker</th>
            <th>State</th>
            <th>Labels</th>
            <th>Load</th>
            <th>Address</th>
            <th>Last heartbeat</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(data ?? []).map((w) => (
            <tr data-worker={w.id}>
              <td class="mono">{w.id}</td>
              <td>
                <StateBadge state={w.state} draining={w.draining} />
              </td>
              <td>
                <Labels labels={w.labels} />
              </td>
              <td>
                <div class="load" title={`${w.running} of ${w.capacity}`}>
                  <div style={{ width: `${w.capacity ? Math.min(100, (w.running / w.capacity) * 100) : 0}%` }} />
                </div>
                {w.running}/{w.capacity}
              </td>
              <td class="mono">{w.address}</td>
              <td>{ago(w.last_heartbeat, now)}</td>
              <td>
                {w.state === 'up' && (
                  <button type="button" onClick={() => void toggle(w.id, w.draining === true)}>
                    {w.draining ? 'Undrain' : 'Drain'}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {data?.length === 0 && (
        <p class="muted">
          No worker has registered yet: start one with <code>baton worker</code>.
        </p>
      )}
    </section>
  );
}
