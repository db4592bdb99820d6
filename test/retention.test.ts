// Retention: finished output deleted after --output-retention or beyond --output-budget (410
// with when and why), finished jobs with their events after --job-retention (404).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import { startScheduler, startWorker, eventually, getJson, waitForFinal, type SchedulerHandle } from './harness.js';

type Json = Record<string, unknown>;

async function run(scheduler: SchedulerHandle, workerId: string, script: string): Promise<string> {
  const res = await fetch(`${scheduler.api}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ worker_id: workerId, command: 'bash', args: ['-c', script] }),
  });
  const job = (await res.json()) as Json;
  assert.equal(res.status, 201, JSON.stringify(job));
  const id = String(job.id);
  // A small output comes in the end report and is kept in the end's commit: kept once the job reads as ended.
  await waitForFinal(scheduler.api, id);
  return id;
}

async function output(api: string, id: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${api}/v1/jobs/${id}/output`);
  return { status: res.status, text: await res.text() };
}

describe('retention', () => {
  it('--output-retention: the output goes (410 saying when and why), then --job-retention: the job goes (404; its attempts, events and output rows with it: store conformance)', async () => {
    const scheduler = await startScheduler({ args: ['--output-retention', '1s', '--job-retention', '5s', '--output-budget', '0'] });
    const worker = await startWorker(scheduler);
    const id = await run(scheduler, worker.id, 'echo kept for a second');
    const pruned = await eventually(async () => {
      const res = await output(scheduler.api, id);
      return res.status === 410 ? res : undefined;
    }, 'the output pruned');
    const body = JSON.parse(pruned.text) as Json;
    assert.equal(body.code, 'output_pruned');
    assert.match(String(body.error), new RegExp(`^the output of job ${id} attempt 1 \\(18 bytes\\) was deleted at \\d{4}-\\d\\d-\\d\\dT[^ ]+Z: kept for --output-retention 1s$`));
    assert.equal((await getJson(`${scheduler.api}/v1/jobs/${id}`)).status, 200, 'the job itself is still there');
    await eventually(async () => ((await getJson(`${scheduler.api}/v1/jobs/${id}`)).status === 404 ? true : undefined), 'the job pruned');
    assert.equal((await output(scheduler.api, id)).status, 404);
  });

  it('--output-budget: beyond it the oldest output goes first', async () => {
    const scheduler = await startScheduler({ args: ['--output-budget', '1500', '--output-retention', '0', '--job-retention', '0'] });
    const worker = await startWorker(scheduler);
    const first = await run(scheduler, worker.id, 'head -c 1000 /dev/zero | tr "\\0" a');
    const second = await run(scheduler, worker.id, 'head -c 1000 /dev/zero | tr "\\0" b');
    const res = await eventually(async () => {
      const r = await output(scheduler.api, first);
      return r.status === 410 ? r : undefined;
    }, 'the oldest output pruned');
    assert.match(String((JSON.parse(res.text) as Json).error), /the oldest output beyond --output-budget \(1500 bytes\)$/);
    assert.deepEqual(await output(scheduler.api, second), { status: 200, text: 'b'.repeat(1000) });
  });
});

describe('retention and dependencies', () => {
  it('a waiting job whose dependency is gone from the store is judged, not left waiting: skipped for succeeded, ready for finished', async () => {
    // Retention reads the waiting jobs before it deletes: a job submitted in between can name one
    // it then deletes. Deleting the row by hand while the scheduler is down makes that state.
    const scheduler = await startScheduler({ args: ['--insecure'] });
    const worker = await startWorker(scheduler, { args: ['--insecure'] });
    const post = async (body: Json): Promise<string> => {
      const res = await fetch(`${scheduler.api}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const job = (await res.json()) as Json;
      assert.equal(res.status, 201, JSON.stringify(job));
      return String(job.id);
    };
    const first = await post({ worker_id: worker.id, command: 'sleep', args: ['30'] });
    const needsSuccess = await post({ command: 'true', after: [first] });
    const needsEnd = await post({ command: 'true', after: [first], after_condition: 'finished' });
    await worker.kill('SIGKILL');
    await scheduler.kill('SIGTERM');
    const db = new Database(path.join(scheduler.dataDir, 'baton.db'));
    db.prepare('DELETE FROM attempts WHERE job_id = ?').run(first);
    db.prepare("DELETE FROM events WHERE kind = 'job' AND entity_id = ?").run(first);
    db.prepare('DELETE FROM jobs WHERE id = ?').run(first);
    db.close();

    const again = await startScheduler({ dataDir: scheduler.dataDir, args: ['--insecure'] });
    await startWorker(again, { args: ['--insecure'] });
    const skipped = (await waitForFinal(again.api, needsSuccess)) as Json;
    assert.equal(skipped.state, 'skipped');
    assert.equal(skipped.reason, `job ${first} was deleted (--job-retention) before this job could see it succeed`);
    const ran = (await waitForFinal(again.api, needsEnd)) as Json;
    assert.equal(ran.state, 'succeeded');
  });
});
