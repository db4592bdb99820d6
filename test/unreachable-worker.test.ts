// A worker the scheduler cannot dial: refused at start when it would advertise 0.0.0.0, and,
// when its address is wrong some other way, marked unreachable and not placed on (its jobs
// wait for a worker that can run them) until a connection to it works.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server } from 'node:net';
import { startScheduler, startWorker, freePort, eventually, getJson, tempDir, workerCert, EXAMPLE_JOBS, waitForFinal } from './harness.js';
import { baton } from './support/cli.js';

/** A TCP relay from `port` to `target` on loopback: the worker found at the address it advertised. */
function relay(port: number, target: number): Promise<Server> {
  const server = createServer((socket) => {
    const upstream = connect(target, '127.0.0.1');
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

describe('a worker the scheduler cannot dial', () => {
  it('refuses to start on --listen 0.0.0.0 without --advertise, in one line saying what to pass', async () => {
    const scheduler = await startScheduler();
    await workerCert(scheduler.certsDir, 'w-any');
    const args = ['worker', '--id', 'w-any', '--scheduler', scheduler.grpc, '--certs-dir', scheduler.certsDir, '--data-dir', tempDir(), '--jobs-dir', EXAMPLE_JOBS];
    const r = await baton([...args, '--listen', '0.0.0.0:0']);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^baton: --listen 0\.0\.0\.0:0 listens on every interface, but the scheduler cannot dial 0\.0\.0\.0: pass --advertise /);
    const { json } = await getJson(`${scheduler.api}/v1/workers`);
    assert.deepEqual(json.workers, [], 'it never registered');
  });

  it('is marked unreachable and gets no job until it can be dialled', async () => {
    const scheduler = await startScheduler();
    const advertised = await freePort();
    const bad = await startWorker(scheduler, { args: ['--advertise', `127.0.0.1:${advertised}`] });
    const unreachable = await eventually(async () => {
      const { json } = await getJson(`${scheduler.api}/v1/workers/${bad.id}`);
      return typeof json.unreachable === 'string' ? json : undefined;
    }, 'the worker to be marked unreachable');
    assert.equal(unreachable.state, 'up', 'it heartbeats: up, but unreachable');
    assert.match(String(unreachable.unreachable), new RegExp(`cannot connect to 127\\.0\\.0\\.1:${advertised}`));
    const table = await baton(['workers'], { api: scheduler.api });
    assert.match(table.stdout, new RegExp(`^${bad.id}\\s+up \\(unreachable\\)\\s`, 'm'));

    // A job waits in the queue saying why, instead of bouncing off the worker again and again.
    const submit = await fetch(`${scheduler.api}/v1/jobs`, { method: 'POST', body: JSON.stringify({ command: 'true' }), headers: { 'content-type': 'application/json' } });
    const job = (await submit.json()) as { id: string; state: string; reason: string };
    assert.equal(job.state, 'queued');
    assert.equal(job.reason, 'no worker is up (1 unreachable)');
    const pinned = await fetch(`${scheduler.api}/v1/jobs`, {
      method: 'POST',
      body: JSON.stringify({ command: 'true', worker_id: bad.id }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(pinned.status, 502);
    const refusal = (await pinned.json()) as { code: string; error: string };
    assert.equal(refusal.code, 'worker_unreachable');
    assert.match(refusal.error, new RegExp(`^worker ${bad.id} is unreachable: the scheduler cannot connect to 127\\.0\\.0\\.1:${advertised} \\(`));

    // The address starts answering (here a relay to the worker): reachable again, and the job runs there.
    const ready = await bad.waitForLog((l) => l.msg === 'worker ready');
    const server = await relay(advertised, Number(String(ready.address).split(':').pop()));
    try {
      const done = await waitForFinal(scheduler.api, job.id);
      assert.equal(done.state, 'succeeded');
      assert.equal(done.worker_id, bad.id);
      const { json } = await getJson(`${scheduler.api}/v1/workers/${bad.id}`);
      assert.equal(json.unreachable, null);
      const bounces = scheduler.logs.filter((l) => l.job_id === job.id && l.transition === 'unplace');
      assert.deepEqual(bounces, [], 'the job never went to the worker while it was unreachable');
    } finally {
      server.close();
    }
  });
});
