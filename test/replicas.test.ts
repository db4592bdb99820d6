// Two schedulers over one PostgreSQL database (a fresh one per run), two workers that know both:
// the leader is SIGKILLed while 500 jobs go in through both APIs.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { freshDatabase } from './support/postgres.js';
import { startScheduler, startWorker, jobsDir, tempDir, getJson, eventually, type SchedulerHandle } from './harness.js';

type Json = Record<string, unknown>;

const FAST_LIVENESS = ['--heartbeat-interval', '300ms', '--heartbeat-ttl', '2s'];
const FINAL = ['succeeded', 'failed', 'stopped', 'timed_out', 'lost'];
const JOBS = 500;

async function submit(api: string, key: string, body: Json): Promise<{ status: number; json: Json }> {
  const res = await fetch(`${api}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': key }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Json };
}

describe('several schedulers on PostgreSQL', () => {
  let storeUrl = '';
  let drop = async (): Promise<void> => {};

  before(async () => {
    ({ url: storeUrl, drop } = await freshDatabase('baton_replicas'));
  });

  after(() => drop());

  it("the leader SIGKILLed amid 500 jobs sent to both: each ends once, none runs twice, the other leads and the dead one's worker carries on", async () => {
    // One data folder (and so one CA and scheduler certificate) for both schedulers.
    const dataDir = tempDir('baton-replicas-');
    const args = ['--store', storeUrl, ...FAST_LIVENESS];
    const a = await startScheduler({ dataDir, args });
    assert.ok(
      a.logs.some((l) => l.msg === 'this scheduler is the leader now'),
      'the first scheduler leads',
    );
    const b: SchedulerHandle = await startScheduler({ dataDir, args });
    assert.ok(!b.logs.some((l) => l.msg === 'this scheduler is the leader now'), 'the second follows');

    const logDir = tempDir('baton-replicas-log-');
    chmodSync(logDir, 0o777);
    const runLog = path.join(logDir, 'runs.log');
    const jobs = jobsDir({ 'once.sh': '#!/bin/bash\necho "$BATON_JOB_ID" >> "$RUN_LOG"\nsleep 0.1\n' });
    // The first worker registers with the leader, the second with the follower; each knows both.
    const onA = await startWorker({ grpc: `${a.grpc},${b.grpc}`, certsDir: a.certsDir }, { jobsDir: jobs, args: ['--capacity', '8'] });
    const onB = await startWorker({ grpc: `${b.grpc},${a.grpc}`, certsDir: a.certsDir }, { jobsDir: jobs, args: ['--capacity', '8'] });

    // Each scheduler sees both workers, and a job submitted to one can be waited for on the other.
    for (const s of [a, b]) {
      await eventually(async () => {
        const { json } = await getJson(`${s.api}/v1/workers`);
        const up = (json.workers as Json[]).filter((w) => w.state === 'up').length;
        return up === 2 ? true : undefined;
      }, 'both workers up on each scheduler');
    }
    const first = await submit(b.api, 'first', { command: 'bash', path: 'once.sh', env: { RUN_LOG: path.join(logDir, 'first.log') } });
    assert.equal(first.status, 201, JSON.stringify(first.json));
    const waited = await fetch(`${a.api}/v1/jobs/${String(first.json.id)}/wait?timeout=30`);
    assert.equal(waited.status, 200);
    assert.equal(((await waited.json()) as Json).state, 'succeeded');
    // A start the worker refuses gets the same answer from the follower as from the leader that placed it.
    const refusals = [];
    for (const s of [a, b]) {
      const res = await fetch(`${s.api}/start`, { method: 'POST', body: JSON.stringify({ worker_id: onA.id, command: 'bash', path: '../outside.sh' }) });
      refusals.push({ status: res.status, body: (await res.json()) as Json });
    }
    assert.equal(refusals[0]!.status, 400, JSON.stringify(refusals[0]));
    assert.match(String(refusals[0]!.body.error), /outside\.sh/);
    assert.deepEqual(refusals[1], refusals[0]);

    // 500 jobs, alternating between the APIs; a call the dead scheduler cannot answer goes to the
    // other with the same Idempotency-Key, so it makes no second job.
    const ids: string[] = [];
    let killed = false;
    let resent = 0;
    for (let i = 0; i < JOBS; i++) {
      if (i === JOBS / 5) {
        await eventually(async () => (existsSync(runLog) && readFileSync(runLog, 'utf8').split('\n').length > 30 ? true : undefined), 'some jobs to have run');
        await a.kill('SIGKILL');
        killed = true;
      }
      const body = { command: 'bash', path: 'once.sh', env: { RUN_LOG: runLog } };
      const order = i % 2 === 0 && !killed ? [a, b] : [b, a];
      let answered: { status: number; json: Json } | undefined;
      for (const s of order) {
        answered = await submit(s.api, `job-${i}`, body).catch(() => undefined);
        if (answered) break;
        resent++;
      }
      assert.ok(answered && answered.status === 201, JSON.stringify(answered?.json));
      ids.push(String(answered.json.id));
    }
    assert.equal(new Set(ids).size, JOBS, 'one job per key');
    // Requests the dead leader answered, sent again to the survivor: the same jobs, not new ones.
    for (let i = 0; i < 20; i += 2) {
      const again = await submit(b.api, `job-${i}`, { command: 'bash', path: 'once.sh', env: { RUN_LOG: runLog } });
      assert.equal(again.status, 200, JSON.stringify(again.json));
      assert.equal(again.json.id, ids[i]);
    }

    await b.waitForLog((l) => l.msg === 'this scheduler is the leader now');
    const finals = new Map<string, Json>();
    await eventually(
      async () => {
        for (const id of ids) {
          if (finals.has(id)) continue;
          const j = (await getJson(`${b.api}/v1/jobs/${id}`)).json;
          if (FINAL.includes(String(j.state))) finals.set(id, j);
        }
        return finals.size === JOBS ? true : undefined;
      },
      `all ${JOBS} jobs final`,
      180_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${JOBS - finals.size} not final`);
    });

    const counts = new Map<string, number>();
    for (const r of readFileSync(runLog, 'utf8').split('\n').filter(Boolean)) counts.set(r, (counts.get(r) ?? 0) + 1);
    assert.deepEqual(
      [...counts].filter(([, n]) => n > 1),
      [],
      'no job ran twice',
    );
    const byState = new Map<string, number>();
    for (const [id, j] of finals) {
      byState.set(String(j.state), (byState.get(String(j.state)) ?? 0) + 1);
      const attempts = j.attempts as Json[];
      assert.ok(attempts.filter((x) => x.state === 'succeeded').length <= 1, `${id} succeeded more than once`);
      if (j.state === 'succeeded') assert.equal(counts.get(id), 1, `${id} succeeded without running exactly once`);
    }
    console.log(`after the leader was killed (${resent} submissions resent): ${JSON.stringify(Object.fromEntries(byState))}`);
    const notSucceeded = [...finals.values()].filter((j) => j.state !== 'succeeded').map((j) => ({ id: j.id, state: j.state, error: j.error, attempts: j.attempts }));
    assert.equal(byState.get('succeeded'), JOBS, JSON.stringify(notSucceeded).slice(0, 2000));

    // The worker that was registered with the dead scheduler moved to the living one and works on.
    await onA.waitForLog((l) => l.msg === 'worker registered' && l.scheduler === b.grpc);
    const w = (await getJson(`${b.api}/v1/workers/${onA.id}`)).json;
    assert.equal(w.state, 'up', JSON.stringify(w));
    const after = await submit(b.api, 'after', { worker_id: onA.id, command: 'bash', path: 'once.sh', env: { RUN_LOG: path.join(logDir, 'after.log') } });
    assert.equal(after.status, 201, JSON.stringify(after.json));
    const done = await fetch(`${b.api}/v1/jobs/${String(after.json.id)}/wait?timeout=30`);
    assert.equal(((await done.json()) as Json).state, 'succeeded');
    await Promise.all([onA.kill(), onB.kill(), b.kill()]);
  });
  it('a worker removed through one scheduler is gone from the other too', async () => {
    const dataDir = tempDir('baton-replicas-rm-');
    const args = ['--store', storeUrl, ...FAST_LIVENESS];
    const a = await startScheduler({ dataDir, args });
    const b = await startScheduler({ dataDir, args });
    const worker = await startWorker({ grpc: `${a.grpc},${b.grpc}`, certsDir: a.certsDir });
    const stateOn = async (s: SchedulerHandle): Promise<unknown> => (await getJson(`${s.api}/v1/workers/${worker.id}`)).json.state;
    await eventually(async () => ((await stateOn(b)) === 'up' ? true : undefined), 'the worker up on the follower');
    await worker.kill();
    await eventually(async () => ((await stateOn(b)) === 'deregistered' ? true : undefined), 'the worker deregistered on the follower');
    const removed = await fetch(`${b.api}/v1/workers/${worker.id}`, { method: 'DELETE' });
    assert.equal(removed.status, 200, await removed.text());
    await eventually(async () => ((await getJson(`${a.api}/v1/workers/${worker.id}`)).status === 404 ? true : undefined), 'the leader to forget it', 10_000);
    assert.equal((await getJson(`${b.api}/v1/workers/${worker.id}`)).status, 404);
    await Promise.all([a.kill(), b.kill()]);
  });
});
