// Fleet and token administration from another machine, as real `baton` processes against a
// scheduler that requires tokens: `baton workers rm` for a dead worker (and its refusal for a
// live one), and `baton token …` through the API with an admin token.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BatonClient, type BatonEvent } from '../src/client/index.js';
import { baton } from './support/cli.js';
import { startScheduler, startWorker, tempDir, eventually, type SchedulerHandle, type WorkerHandle } from './harness.js';

async function api(url: string, token: string, init: RequestInit = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('baton workers rm and baton token through the API', () => {
  let scheduler: SchedulerHandle;
  let live: WorkerHandle;
  let doomed: WorkerHandle;
  let admin: string;
  let viewer: string;

  before(async () => {
    const dataDir = tempDir('baton-ops-');
    // The first token straight in the store, as on the scheduler's own machine.
    const made = await baton(['token', 'create', '--role', 'admin', '--name', 'root', '--data-dir', dataDir]);
    assert.equal(made.code, 0, made.stderr);
    admin = made.stdout.trim();
    scheduler = await startScheduler({ dataDir, args: ['--auth'] });
    [live, doomed] = await Promise.all([startWorker(scheduler), startWorker(scheduler, { args: ['--label', 'doomed=yes', '--reattach-window', '2s'] })]);
  });
  after(() => Promise.all([live.kill(), doomed.kill(), scheduler.kill()]));

  it('token create, list and revoke go through the API with --addr/--token, BATON_TOKEN, or the global flags', async () => {
    const created = await baton(['token', 'create', '--role', 'viewer', '--name', 'remote-viewer', '--addr', scheduler.api, '--token', admin]);
    assert.equal(created.code, 0, created.stderr);
    viewer = created.stdout.trim();
    assert.match(viewer, /^baton_/);
    assert.match(created.stderr, /shown only this once/);
    assert.equal((await api(`${scheduler.api}/v1/jobs`, viewer)).status, 200, 'the new token works at once');

    // No store flag, BATON_ADDR and BATON_TOKEN set: the API.
    const listed = await baton(['token', 'list'], { api: scheduler.api, env: { BATON_TOKEN: admin } });
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^NAME +ROLE +CREATED/);
    assert.match(listed.stdout, /^root +admin /m);
    assert.match(listed.stdout, /^remote-viewer +viewer /m);
    assert.doesNotMatch(listed.stdout, /baton_/, 'never a secret');

    const taken = await baton(['token', 'create', '--role', 'viewer', '--name', 'remote-viewer', '--token', admin], { api: scheduler.api });
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, /^baton: .*remote-viewer.*\n$/);

    const denied = await baton(['token', 'create', '--role', 'admin', '--name', 'sneaky', '--token', viewer], { api: scheduler.api });
    assert.equal(denied.code, 1);
    assert.equal(denied.stderr, 'baton: this call needs the admin role; your token (name remote-viewer) has viewer (the token is not allowed to do this)\n');

    const revoked = await baton(['--token', admin, 'token', 'revoke', 'remote-viewer'], { api: scheduler.api });
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal(revoked.stdout, 'revoked remote-viewer\n');
    assert.equal((await api(`${scheduler.api}/v1/jobs`, viewer)).status, 401, 'refused once revoked');
    const again = await baton(['token', 'revoke', 'remote-viewer', '--token', admin], { api: scheduler.api });
    assert.equal(again.code, 1);
    assert.equal(again.stderr, 'baton: no live token named "remote-viewer"\n');
  });

  it('token commands refuse an ambiguous place, and --all through the API', async () => {
    const both = await baton(['token', 'list', '--token', admin, '--data-dir', scheduler.dataDir], { api: scheduler.api });
    assert.equal(both.code, 1);
    assert.match(both.stderr, /^baton: give --addr\/--token .* or --data-dir\/--store\/--config .*, not both\n$/);
    const all = await baton(['token', 'list', '--all', '--token', admin], { api: scheduler.api });
    assert.equal(all.code, 1);
    assert.match(all.stderr, /--all lists revoked tokens, which only the store keeps/);
    // The store still answers on this machine, revoked tokens included.
    const local = await baton(['token', 'list', '--all', '--data-dir', scheduler.dataDir]);
    assert.equal(local.code, 0, local.stderr);
    assert.match(local.stdout, /^remote-viewer +viewer +\S+ +revoked /m);
  });

  it('workers rm refuses a live worker (409 worker_up), forgets a dead one and loses its unknown attempts at once', async () => {
    const up = await baton(['workers', 'rm', live.id, '--token', admin], { api: scheduler.api });
    assert.equal(up.code, 1);
    assert.match(up.stderr, new RegExp(`^baton: worker "${live.id}" is up: only a worker that is down or deregistered can be removed`));
    const raw = await api(`${scheduler.api}/v1/workers/${live.id}`, admin, { method: 'DELETE' });
    assert.equal(raw.status, 409);
    assert.equal(raw.json.code, 'worker_up');

    // A job running on the worker about to die: its attempt goes unknown, and would wait --lost-after (30 s).
    const run = await api(`${scheduler.api}/v1/jobs`, admin, { method: 'POST', body: JSON.stringify({ command: 'sleep', args: ['60'], labels: { doomed: 'yes' } }) });
    assert.equal(run.status, 201, JSON.stringify(run.json));
    const jobId = String(run.json.id);
    await eventually(async () => ((await api(`${scheduler.api}/v1/jobs/${jobId}`, admin)).json.state === 'running' ? true : undefined), 'the job to run');
    await doomed.kill('SIGKILL');
    await eventually(async () => ((await api(`${scheduler.api}/v1/jobs/${jobId}`, admin)).json.state === 'unknown' ? true : undefined), 'the attempt to be unknown');

    const removed = await baton(['workers', 'rm', doomed.id, '--token', admin], { api: scheduler.api });
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.stdout, `worker ${doomed.id} removed (it was down)\n`);
    const job = await eventually(
      async () => {
        const { json } = await api(`${scheduler.api}/v1/jobs/${jobId}`, admin);
        return json.state === 'lost' ? json : undefined;
      },
      'the job to be lost',
      10_000,
    );
    assert.match(String(job.error), new RegExp(`worker ${doomed.id} was removed by root`));

    // Watchers hear of it: a last worker event, marked removed.
    const client = new BatonClient({ address: scheduler.api, token: admin });
    let last: BatonEvent | undefined;
    for await (const e of client.events({ types: ['worker'], lastEventId: 0 })) {
      if (e.type === 'worker' && e.worker.id === doomed.id && e.removed === true) {
        last = e;
        break;
      }
    }
    assert.equal(last?.type === 'worker' && last.worker.state, 'down');
    const events = await baton(['events', '--type', 'worker', '--since', '0', '--token', admin], { api: scheduler.api, stopAfterMs: 3_000 });
    assert.match(events.stdout, new RegExp(`  worker  ${doomed.id}  removed\n`));

    const workers = await baton(['workers', '--json', '--token', admin], { api: scheduler.api });
    assert.deepEqual(
      (JSON.parse(workers.stdout) as { id: string }[]).map((w) => w.id),
      [live.id],
    );
    const gone = await baton(['workers', 'rm', doomed.id, '--token', admin], { api: scheduler.api });
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /not found \(`baton workers` lists workers\)/);
    assert.doesNotMatch(await fetch(`${scheduler.api}/metrics`, { headers: { authorization: `Bearer ${admin}` } }).then((r) => r.text()), new RegExp(doomed.id));
  });
});
