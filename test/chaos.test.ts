// Chaos with real processes: workers and the scheduler killed, frozen and drained mid-work.
// Each case has a cluster of its own, with a short heartbeat TTL so a dead worker is noticed in seconds.
import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import {
  startScheduler,
  startWorker,
  jobsDir,
  tempDir,
  getJson,
  eventually,
  waitForFinal,
  freePort,
  processesMatching,
  type SchedulerHandle,
  type WorkerHandle,
} from './harness.js';
import { freshDatabase } from './support/postgres.js';
import { SseReader } from './support/sse.js';

type Json = Record<string, unknown>;

const FAST_LIVENESS = ['--heartbeat-interval', '300ms', '--heartbeat-ttl', '2s', '--lost-after', '1s'];
const FINAL = ['succeeded', 'failed', 'stopped', 'timed_out', 'lost'];
// Each sleep has a length of its own, so the test can find (and clean up) exactly its processes.
const scripts = {
  'slow.sh': '#!/bin/bash\nsleep 4.017\necho done\n',
  'revive.sh': '#!/bin/bash\nsleep 8.019\necho still here\n',
  'back.sh': '#!/bin/bash\nsleep 12.041\necho back\n',
  'drain.sh': '#!/bin/bash\nsleep 3.023\necho drained\n',
  'left.sh': '#!/bin/bash\nsleep 30.031 &\nsleep 30.032\n',
  'once.sh': '#!/bin/bash\necho "$BATON_JOB_ID" >> "$RUN_LOG"\nsleep 0.2\n',
};

async function post(url: string, body: unknown): Promise<{ status: number; json: Json }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Json };
}

async function job(api: string, id: string): Promise<Json> {
  return (await getJson(`${api}/v1/jobs/${id}`)).json;
}

async function runningOn(api: string, id: string): Promise<string> {
  return eventually(async () => {
    const j = await job(api, id);
    return j.state === 'running' ? String(j.worker_id) : undefined;
  }, `job ${id} running`);
}

/**
 * The states each job's stored events show, in order: a replay from the first event, read up to
 * a job submitted after (ids increase), so nothing stored before is missed.
 */
async function storedJobStates(api: string): Promise<Map<string, string[]>> {
  const marker = String((await post(`${api}/v1/jobs`, { command: 'bash', path: 'once.sh', labels: { marker: 'no worker has this' } })).json.id);
  const replay = await SseReader.open(`${api}/v1/events?types=job`, { 'last-event-id': '0' });
  try {
    await replay.next((e) => e.data.id === marker, 0, 60_000);
    const states = new Map<string, string[]>();
    for (const e of replay.received) {
      const id = String(e.data.id);
      states.set(id, [...(states.get(id) ?? []), String(e.data.state)]);
    }
    return states;
  } finally {
    replay.close();
  }
}

async function storedStates(api: string, id: string): Promise<string[]> {
  return (await storedJobStates(api)).get(id) ?? [];
}

/**
 * A scheduler (on a fixed gRPC port, so that its workers find it again after a restart) and two
 * workers given 200 short jobs; SIGKILLed once `ran` of them have run. Each job appends its id to `runLog`.
 */
async function killedAmid200Jobs(storeArgs: string[], ran: number) {
  const grpcArgs = ['--grpc', `127.0.0.1:${await freePort()}`, ...storeArgs, ...FAST_LIVENESS];
  const first = await startScheduler({ args: grpcArgs });
  const jobs = jobsDir(scripts);
  const workers: WorkerHandle[] = await Promise.all([
    startWorker(first, { jobsDir: jobs, args: ['--capacity', '8'] }),
    startWorker(first, { jobsDir: jobs, args: ['--capacity', '8'] }),
  ]);
  // The jobs run as the sandbox's user: the log they append to must be writable by anyone.
  const logDir = tempDir('baton-chaos-');
  chmodSync(logDir, 0o777);
  const runLog = path.join(logDir, 'runs.log');
  const batch = await post(`${first.api}/v1/jobs/batch`, { jobs: Array.from({ length: 200 }, () => ({ command: 'bash', path: 'once.sh', env: { RUN_LOG: runLog } })) });
  assert.equal(batch.status, 201, JSON.stringify(batch.json).slice(0, 300));
  const ids = (batch.json.jobs as Json[]).map((j) => String(j.id));
  await eventually(async () => (existsSync(runLog) && readFileSync(runLog, 'utf8').split('\n').length > ran ? true : undefined), `${ran} jobs to have run`);
  await first.kill('SIGKILL');
  return { grpcArgs, first, workers, runLog, ids };
}

/** Polls until every job is final; the jobs as they ended. */
async function allFinal(api: string, ids: readonly string[]): Promise<Map<string, Json>> {
  const finals = new Map<string, Json>();
  const stuck = new Map<string, Json>();
  await eventually(
    async () => {
      for (const id of ids)
        if (!finals.has(id)) {
          const j = await job(api, id);
          if (FINAL.includes(String(j.state))) finals.set(id, j);
          else stuck.set(id, j);
        }
      return finals.size === ids.length ? true : undefined;
    },
    `all ${ids.length} jobs final`,
    120_000,
  ).catch((err: Error) => {
    const left = [...stuck].filter(([id]) => !finals.has(id)).map(([, j]) => j);
    throw new Error(`${err.message}: ${left.length} not final, e.g. ${JSON.stringify(left.slice(0, 3))}`);
  });
  return finals;
}

describe('chaos', () => {
  after(async () => {
    for (const marker of ['sleep 4.017', 'sleep 3.023', 'sleep 30.03', 'sleep 8.019', 'sleep 12.041']) {
      for (const line of await processesMatching(marker)) process.kill(Number(line.split(' ')[0]), 'SIGKILL');
    }
  });

  it('a worker SIGKILLed mid-job: the attempt is lost, the job is retried on the other worker and succeeds, two attempts recorded', async () => {
    const scheduler = await startScheduler({ args: FAST_LIVENESS });
    const jobs = jobsDir(scripts);
    const workers = await Promise.all([startWorker(scheduler, { jobsDir: jobs }), startWorker(scheduler, { jobsDir: jobs })]);
    const submitted = await post(`${scheduler.api}/v1/jobs`, { command: 'bash', path: 'slow.sh', retry: { max_attempts: 2, backoff: { base: 0.1 }, on: ['lost'] } });
    assert.equal(submitted.status, 201, JSON.stringify(submitted.json));
    const id = String(submitted.json.id);
    const first = await runningOn(scheduler.api, id);
    const victim = workers.find((w) => w.id === first)!;
    const survivor = workers.find((w) => w.id !== first)!;
    await victim.kill('SIGKILL');

    const done = await waitForFinal(scheduler.api, id);
    assert.equal(done.state, 'succeeded', JSON.stringify(done));
    const attempts = done.attempts as Json[];
    assert.equal(attempts.length, 2, JSON.stringify(attempts));
    assert.equal(attempts[0]!.worker_id, victim.id);
    assert.equal(attempts[0]!.state, 'lost');
    assert.match(String(attempts[0]!.error), /.+/);
    assert.equal(attempts[1]!.worker_id, survivor.id);
    assert.equal(attempts[1]!.state, 'succeeded');
    const w = (await getJson(`${scheduler.api}/v1/workers/${victim.id}`)).json;
    assert.equal(w.state, 'down');
    await Promise.all([survivor.kill(), scheduler.kill()]);
  });

  it('a worker frozen (SIGSTOP) past its TTL: lost and retried elsewhere; when it thaws, its copy is stopped', async () => {
    const scheduler = await startScheduler({ args: FAST_LIVENESS });
    const jobs = jobsDir(scripts);
    const workers = await Promise.all([startWorker(scheduler, { jobsDir: jobs }), startWorker(scheduler, { jobsDir: jobs })]);
    const submitted = await post(`${scheduler.api}/v1/jobs`, { command: 'bash', path: 'slow.sh', retry: { max_attempts: 2, backoff: { base: 0.1 }, on: ['lost'] } });
    const id = String(submitted.json.id);
    const first = await runningOn(scheduler.api, id);
    const frozen = workers.find((w) => w.id === first)!;
    const other = workers.find((w) => w.id !== first)!;
    frozen.child.kill('SIGSTOP');
    try {
      await eventually(async () => ((await getJson(`${scheduler.api}/v1/workers/${frozen.id}`)).json.state === 'down' ? true : undefined), 'the frozen worker marked down');
      const retried = await eventually(async () => {
        const j = await job(scheduler.api, id);
        const attempts = j.attempts as Json[];
        return attempts.length === 2 && attempts[1]!.worker_id === other.id ? attempts : undefined;
      }, 'a second attempt on the other worker');
      assert.equal(retried[0]!.state, 'lost');
    } finally {
      frozen.child.kill('SIGCONT');
    }
    // Back again: it registers anew, and the scheduler has it stop the copy it gave up on.
    await eventually(async () => ((await getJson(`${scheduler.api}/v1/workers/${frozen.id}`)).json.state === 'up' ? true : undefined), 'the thawed worker up again');
    await frozen.waitForLog((l) => l.job_id === id && l.state === 'stopped');
    const done = await waitForFinal(scheduler.api, id);
    assert.equal(done.state, 'succeeded', JSON.stringify(done));
    const attempts = done.attempts as Json[];
    assert.deepEqual(
      attempts.map((a) => a.state),
      ['lost', 'succeeded'],
    );
    // Attempt 1 went unknown, then was lost and retried: the job itself never showed a final state before its one end.
    assert.deepEqual(await storedStates(scheduler.api, id), ['dispatched', 'running', 'unknown', 'queued', 'dispatched', 'running', 'succeeded']);
    await Promise.all([...workers.map((w) => w.kill()), scheduler.kill()]);
  });

  it('a worker killed with its supervisor leaves its job running; restarted, it kills the leftovers and reports the job lost', async () => {
    const scheduler = await startScheduler();
    const jobs = jobsDir(scripts);
    const worker = await startWorker(scheduler, { jobsDir: jobs });
    const submitted = await post(`${scheduler.api}/v1/jobs`, { worker_id: worker.id, command: 'bash', path: 'left.sh' });
    const id = String(submitted.json.id);
    await runningOn(scheduler.api, id);
    // The worker and the jobs' supervisor die together: nothing watches the job.
    const spawners = execFileSync('pgrep', ['-P', String(worker.pid)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
    assert.ok(spawners.length > 0, 'the worker started a supervisor process');
    for (const pid of [worker.pid, ...spawners]) process.kill(pid, 'SIGKILL');
    await worker.exited;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await processesMatching('sleep 30.03')).length, 2, 'the job and its child outlived the worker');

    const again = await startWorker(scheduler, { jobsDir: jobs, dataDir: worker.dataDir });
    assert.equal(again.id, worker.id);
    await eventually(async () => ((await processesMatching('sleep 30.03')).length === 0 ? true : undefined), 'the leftovers killed');
    const done = await waitForFinal(scheduler.api, id);
    assert.equal(done.state, 'lost', JSON.stringify(done));
    assert.match(String((done.attempts as Json[])[0]!.error), /processes were still running and were killed when the worker restarted/);
    await Promise.all([again.kill(), scheduler.kill()]);
  });

  it('a worker frozen past its TTL and the --lost-after window: its job is unknown, then lost (final); when it thaws, its copy is stopped', async () => {
    const scheduler = await startScheduler({ args: FAST_LIVENESS });
    const worker = await startWorker(scheduler, { jobsDir: jobsDir(scripts) });
    const submitted = await post(`${scheduler.api}/v1/jobs`, { command: 'bash', path: 'revive.sh' });
    const id = String(submitted.json.id);
    await runningOn(scheduler.api, id);
    worker.child.kill('SIGSTOP');
    try {
      await eventually(async () => ((await job(scheduler.api, id)).state === 'lost' ? true : undefined), 'the job marked lost');
    } finally {
      worker.child.kill('SIGCONT');
    }
    await worker.waitForLog((l) => l.job_id === id && l.state === 'stopped');
    const done = await job(scheduler.api, id);
    assert.equal(done.state, 'lost', JSON.stringify(done));
    assert.deepEqual(
      (done.attempts as Json[]).map((a) => a.state),
      ['lost'],
    );
    assert.deepEqual(await storedStates(scheduler.api, id), ['dispatched', 'running', 'unknown', 'lost']);
    await Promise.all([worker.kill(), scheduler.kill()]);
  });

  it('a worker frozen past its TTL that thaws within the --lost-after window: unknown (wait does not return), then running again, and it ends once', async () => {
    const scheduler = await startScheduler({ args: ['--heartbeat-interval', '300ms', '--heartbeat-ttl', '2s', '--lost-after', '10m'] });
    const worker = await startWorker(scheduler, { jobsDir: jobsDir(scripts) });
    const id = String((await post(`${scheduler.api}/v1/jobs`, { command: 'bash', path: 'back.sh' })).json.id);
    await runningOn(scheduler.api, id);
    worker.child.kill('SIGSTOP');
    try {
      await eventually(async () => ((await job(scheduler.api, id)).state === 'unknown' ? true : undefined), 'the job unknown');
      const waited = await fetch(`${scheduler.api}/v1/jobs/${id}/wait?timeout=1`);
      assert.equal(waited.status, 202, 'wait does not return on unknown: it is not final');
      const view = (await waited.json()) as Json;
      assert.equal(view.state, 'unknown');
      assert.match(String(view.reason), /stopped answering \(no heartbeat for \d+s\)/);
    } finally {
      worker.child.kill('SIGCONT');
    }
    await eventually(async () => ((await job(scheduler.api, id)).state === 'running' ? true : undefined), 'the job running again');
    const done = await waitForFinal(scheduler.api, id);
    assert.equal(done.state, 'succeeded', JSON.stringify(done));
    assert.deepEqual(
      (done.attempts as Json[]).map((a) => a.state),
      ['succeeded'],
    );
    assert.deepEqual(await storedStates(scheduler.api, id), ['dispatched', 'running', 'unknown', 'running', 'succeeded']);
    await Promise.all([worker.kill(), scheduler.kill()]);
  });

  it('a worker SIGKILLed is noticed at once (its heartbeat stream breaks), long before its TTL: down, and new jobs run on the living one', async () => {
    const scheduler = await startScheduler({ args: ['--heartbeat-interval', '300ms', '--heartbeat-ttl', '10m'] });
    const jobs = jobsDir(scripts);
    const [dead, alive] = await Promise.all([startWorker(scheduler, { jobsDir: jobs }), startWorker(scheduler, { jobsDir: jobs })]);
    // Its heartbeat stream is open (it opens with the first beat after registering).
    await eventually(async () => {
      const w = (await getJson(`${scheduler.api}/v1/workers/${dead.id}`)).json;
      return w.last_heartbeat !== w.registered_at ? true : undefined;
    }, 'a heartbeat from the worker');
    await dead.kill('SIGKILL');
    // Waited for far less than the 10-minute TTL: the lease alone would not have done it.
    await scheduler.waitForLog(
      (l) => l.msg === 'worker state changed' && l.worker_id === dead.id && l.state === 'down' && String(l.reason).includes('its heartbeat stream broke'),
      30_000,
    );
    assert.equal((await getJson(`${scheduler.api}/v1/workers/${dead.id}`)).json.state, 'down');
    const spec = { command: 'bash', path: 'once.sh', env: { RUN_LOG: '/dev/null' } };
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(String((await post(`${scheduler.api}/v1/jobs`, spec)).json.id));
    for (const id of ids) {
      const done = await waitForFinal(scheduler.api, id);
      assert.equal(done.state, 'succeeded', JSON.stringify(done));
      assert.equal(done.worker_id, alive.id);
    }
    await Promise.all([alive.kill(), scheduler.kill()]);
  });

  it('SIGTERM drains a worker: no new placements there, its running job finishes, then it exits 0', async () => {
    const scheduler = await startScheduler({ args: FAST_LIVENESS });
    const jobs = jobsDir(scripts);
    const draining = await startWorker(scheduler, { jobsDir: jobs, args: ['--drain-timeout', '60s'] });
    const other = await startWorker(scheduler, { jobsDir: jobs });
    const submitted = await post(`${scheduler.api}/v1/jobs`, { worker_id: draining.id, command: 'bash', path: 'drain.sh' });
    const id = String(submitted.json.id);
    await runningOn(scheduler.api, id);
    draining.child.kill('SIGTERM');
    await eventually(async () => ((await getJson(`${scheduler.api}/v1/workers/${draining.id}`)).json.draining === true ? true : undefined), 'the worker shown draining');
    // While it drains, new work goes to the other worker.
    for (let i = 0; i < 4; i++) {
      const placed = await post(`${scheduler.api}/v1/jobs`, { command: 'bash', path: 'drain.sh' });
      assert.equal(placed.status, 201);
      assert.equal(await runningOn(scheduler.api, String(placed.json.id)), other.id);
    }
    assert.deepEqual(await draining.exited, { code: 0, signal: null });
    const done = await job(scheduler.api, id);
    assert.equal(done.state, 'succeeded', JSON.stringify(done));
    assert.equal((await getJson(`${scheduler.api}/v1/workers/${draining.id}`)).json.state, 'deregistered');
    await Promise.all([other.kill(), scheduler.kill()]);
  });

  it('the scheduler SIGKILLed with 200 jobs in flight and restarted: every job reaches a final state, none runs twice', async () => {
    // Some have run, some run now, most wait in the queue.
    const { grpcArgs, first, workers, runLog, ids } = await killedAmid200Jobs([], 20);
    const second: SchedulerHandle = await startScheduler({ dataDir: first.dataDir, args: grpcArgs });
    const finals = await allFinal(second.api, ids);
    const runs = readFileSync(runLog, 'utf8').split('\n').filter(Boolean);
    const counts = new Map<string, number>();
    for (const r of runs) counts.set(r, (counts.get(r) ?? 0) + 1);
    const twice = [...counts].filter(([, n]) => n > 1);
    assert.deepEqual(twice, [], 'no job ran twice');
    for (const [id, j] of finals) {
      const succeeded = (j.attempts as Json[]).filter((a) => a.state === 'succeeded').length;
      assert.ok(succeeded <= 1, `${id} succeeded ${succeeded} times`);
      if (j.state === 'succeeded') assert.equal(counts.get(id), 1, `${id} succeeded without running exactly once`);
    }
    const byState = new Map<string, number>();
    for (const j of finals.values()) byState.set(String(j.state), (byState.get(String(j.state)) ?? 0) + 1);
    console.log(`after the scheduler was killed: ${JSON.stringify(Object.fromEntries(byState))}`);
    assert.equal(byState.get('succeeded'), 200, JSON.stringify(Object.fromEntries(byState)));
    await Promise.all([...workers.map((w) => w.kill()), second.kill()]);
  });
});

describe('chaos on PostgreSQL', () => {
  let storeUrl = '';
  let drop = async (): Promise<void> => {};
  before(async () => {
    ({ url: storeUrl, drop } = await freshDatabase('baton_chaos'));
  });
  after(() => drop());

  it('the scheduler SIGKILLed right after jobs end: restarted, every job in a final state has exactly one final event, its own', async () => {
    // Killed while jobs end one after another: some of those ends are being stored right now.
    const { grpcArgs, first, workers, ids } = await killedAmid200Jobs(['--store', storeUrl], 40);
    const second: SchedulerHandle = await startScheduler({ dataDir: first.dataDir, args: grpcArgs });
    const finals = await allFinal(second.api, ids);
    const stored = await storedJobStates(second.api);
    const wrong = ids.flatMap((id) => {
      const ends = (stored.get(id) ?? []).filter((s) => FINAL.includes(s));
      const state = String(finals.get(id)!.state);
      return ends.length === 1 && ends[0] === state ? [] : [`${id} is ${state}; its events end ${JSON.stringify(stored.get(id))}`];
    });
    assert.deepEqual(wrong, [], 'every final state has its one final event');
    await Promise.all([...workers.map((w) => w.kill()), second.kill()]);
  });
});
