import { ErrorLine } from '../app.js';
import { useAction, useLive, useNow } from '../hooks.js';
import { ago } from '../lib/format.js';
import { ConfirmButton, Labels, StateBadge } from './common.js';

export function WorkersPage() {
  const now = useNow();
  const { act, error: actionError, done } = useAction();
  const { data, error, live } = useLive(({ client }, signal) => client.listWorkers({ signal }), [done]);
  const toggle = (id: string, draining: boolean): Promise<void> => act(() => (draining ? live.client.undrainWorker(id) : live.client.drainWorker(id)));
  return (
    <section class="card">
      <h2>Workers</h2>
      <ErrorLine error={error ?? actionError} live={live} />
      <div class="table-wrap">
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
                  {/* Up (it heartbeats) but the scheduler cannot dial it: no job is placed on it. */}
                  <StateBadge state={w.unreachable ? 'unreachable' : w.state} draining={w.draining} />
                  {w.unreachable && (
                    <div class="muted small" data-testid="unreachable-why">
                      {w.unreachable}
                    </div>
                  )}
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
                  {w.state === 'up' &&
                    live.can('admin') &&
                    (w.draining ? (
                      <button type="button" onClick={() => void toggle(w.id, true)}>
                        Undrain
                      </button>
                    ) : (
                      <ConfirmButton
                        label="Drain"
                        question={`Drain ${w.id}? It takes no new jobs; its running jobs go on.`}
                        confirm="Yes, drain"
                        danger={false}
                        onConfirm={() => void toggle(w.id, false)}
                      />
                    ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {data?.length === 0 && (
        <p class="muted">
          No worker has registered yet: start one with <code>baton worker</code>.
        </p>
      )}
    </section>
  );
}
