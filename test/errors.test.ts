// Error answers with real processes: each carries its catalogue code, a named worker that
// cannot take a job says so at once, and no answer echoes megabytes or the worker's paths.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { ERRORS, type ErrorCode } from '../src/common/errors.js';
import { startScheduler, startWorker, jobsDir, curlPost, getJson, eventually, type SchedulerHandle, type WorkerHandle } from './harness.js';

const FAST_LIVENESS = ['--heartbeat-interval', '300ms', '--heartbeat-ttl', '2s'];

/** The answer has `status`, the code of that name, and an `error` sentence. */
function assertError(res: { status: number; json: Record<string, unknown>; text: string }, code: ErrorCode, what = ''): void {
  assert.equal(res.status, ERRORS[code].http, `${what}: ${res.text.slice(0, 300)}`);
  assert.equal(res.json.code, code.toLowerCase(), `${what}: ${res.text.slice(0, 300)}`);
  assert.equal(typeof res.json.error, 'string');
}

async function jobCount(api: string): Promise<number> {
  return ((await getJson(`${api}/v1/jobs?limit=500`)).json.jobs as unknown[]).length;
}

describe('error codes', () => {
  let scheduler: SchedulerHandle;
  let worker: WorkerHandle;
  let jobs: string;

  before(async () => {
    jobs = jobsDir({ 'ok.sh': '#!/bin/bash\necho ok\n', 'plain.sh': 'echo not executable\n', 'long.sh': '#!/bin/bash\nsleep 30\n' });
    chmodSync(path.join(jobs, 'plain.sh'), 0o644);
    symlinkSync('/etc/passwd', path.join(jobs, 'escape.sh'));
    symlinkSync('loop.sh', path.join(jobs, 'loop.sh'));
    scheduler = await startScheduler({ args: FAST_LIVENESS });
    worker = await startWorker(scheduler, { jobsDir: jobs });
  });
  after(async () => {
    await scheduler?.kill();
  });

  it('each kind of failure answers its code', async () => {
    const api = scheduler.api;
    const done = await curlPost(`${api}/start`, { worker_id: worker.id, command: 'bash', path: 'ok.sh' });
    assert.equal(done.status, 201, done.text);
    await eventually(async () => ((await curlPost(`${api}/query`, { worker_id: worker.id, job_id: done.json.job_id })).json.done === true ? true : undefined), 'the job to end');
    const cases: [string, Promise<{ status: number; json: Record<string, unknown>; text: string }>, ErrorCode][] = [
      ['bad JSON', curlPost(`${api}/start`, '{"worker_id": '), 'BAD_REQUEST'],
      ['a missing field', curlPost(`${api}/start`, { worker_id: worker.id, path: 'ok.sh' }), 'BAD_REQUEST'],
      ['an unknown route', curlPost(`${api}/nope`, {}), 'NOT_FOUND'],
      ['an unknown job', curlPost(`${api}/query`, { worker_id: worker.id, job_id: 'nope' }), 'JOB_NOT_FOUND'],
      ['an unknown worker', curlPost(`${api}/start`, { worker_id: 'nope', command: 'bash', path: 'ok.sh' }), 'WORKER_NOT_FOUND'],
      ['a stop of an ended job', curlPost(`${api}/stop`, { worker_id: worker.id, job_id: done.json.job_id }), 'WRONG_STATE'],
      ['a command the worker does not have', curlPost(`${api}/start`, { worker_id: worker.id, command: 'no-such-command-xyz', path: 'ok.sh' }), 'COMMAND_NOT_FOUND'],
      ['a placed job whose command the worker does not have', curlPost(`${api}/v1/jobs`, { command: 'no-such-command-xyz' }), 'COMMAND_NOT_FOUND'],
      ['a command without execute permission', curlPost(`${api}/v1/jobs`, { worker_id: worker.id, command: './plain.sh' }), 'COMMAND_NOT_EXECUTABLE'],
      ['a path outside the jobs folder', curlPost(`${api}/start`, { worker_id: worker.id, command: 'cat', path: '../x' }), 'BAD_REQUEST'],
      ['a body over the limit', curlPost(`${api}/start`, { worker_id: worker.id, command: 'x'.repeat(2 * 1024 * 1024), path: 'ok.sh' }), 'PAYLOAD_TOO_LARGE'],
    ];
    for (const [name, answer, code] of cases) assertError(await answer, code, name);
  });

  it('a long value is quoted by its start: a 900 KB environment name or job id answers a short error', async () => {
    const badName = await curlPost(`${scheduler.api}/v1/jobs`, { worker_id: worker.id, command: 'true', env: { [`A B${'x'.repeat(900 * 1024)}`]: '1' } });
    assertError(badName, 'BAD_REQUEST');
    assert.match(String(badName.json.error), /^environment variable name "A Bx+… \(921603 characters\)" is not valid/);
    assert.ok(badName.text.length < 1_000, `${badName.text.length} bytes`);
    const longId = await curlPost(`${scheduler.api}/query`, { worker_id: worker.id, job_id: 'j'.repeat(900 * 1024) });
    assert.equal(longId.status, 400, longId.text.slice(0, 300));
    assert.ok(longId.text.length < 1_000, `${longId.text.length} bytes`);
    const longCommand = await curlPost(`${scheduler.api}/start`, { worker_id: worker.id, command: `no-such-${'c'.repeat(4000)}`, path: 'ok.sh' });
    assertError(longCommand, 'COMMAND_NOT_FOUND');
    assert.ok(longCommand.text.length < 1_000, `${longCommand.text.length} bytes`);
    const longUrl = await fetch(`${scheduler.api}/${'u'.repeat(8_000)}`);
    const text = await longUrl.text();
    assert.equal(longUrl.status, 404);
    assert.ok(text.length < 1_000, `${text.length} bytes`);
  });

  it("a path error names the path as given, never the worker's folder or a link's target", async () => {
    for (const name of ['escape.sh', 'loop.sh', '../../etc/shadow', 'sub/../../x']) {
      const res = await curlPost(`${scheduler.api}/start`, { worker_id: worker.id, command: 'cat', path: name });
      assertError(res, 'BAD_REQUEST');
      assert.ok(String(res.json.error).includes(`"${name}"`), res.text);
      assert.ok(!res.text.includes(jobs), `${res.text} names the jobs folder`);
      assert.ok(!res.text.includes('/etc/passwd'), `${res.text} names the link's target`);
    }
  });

  it('POST /start and POST /v1/jobs naming a draining worker answer 503 worker_down, and store nothing', async () => {
    const drained = await curlPost(`${scheduler.api}/v1/workers/${worker.id}/drain`, {});
    assert.equal(drained.status, 200, drained.text);
    try {
      const before = await jobCount(scheduler.api);
      const start = await curlPost(`${scheduler.api}/start`, { worker_id: worker.id, command: 'bash', path: 'ok.sh' });
      assertError(start, 'WORKER_DOWN');
      assert.match(String(start.json.error), new RegExp(`worker "${worker.id}" is draining`));
      assertError(await curlPost(`${scheduler.api}/v1/jobs`, { worker_id: worker.id, command: 'true' }), 'WORKER_DOWN');
      assertError(await curlPost(`${scheduler.api}/v1/jobs/batch`, { jobs: [{ command: 'true' }, { worker_id: worker.id, command: 'true' }] }), 'WORKER_DOWN');
      assert.equal(await jobCount(scheduler.api), before);
    } finally {
      await fetch(`${scheduler.api}/v1/workers/${worker.id}/drain`, { method: 'DELETE' });
    }
    const start = await curlPost(`${scheduler.api}/start`, { worker_id: worker.id, command: 'bash', path: 'ok.sh' });
    assert.equal(start.status, 201, start.text);
  });

  it('a worker that is up but full takes the job in its queue (201), not a refusal', async () => {
    const small = await startWorker(scheduler, { jobsDir: jobs, args: ['--capacity', '1'] });
    try {
      const first = await curlPost(`${scheduler.api}/start`, { worker_id: small.id, command: 'bash', path: 'long.sh' });
      assert.equal(first.status, 201, first.text);
      const second = await curlPost(`${scheduler.api}/v1/jobs`, { worker_id: small.id, command: 'bash', path: 'long.sh' });
      assert.equal(second.status, 201, JSON.stringify(second.json));
      assert.equal(second.json.state, 'queued');
      assert.match(String(second.json.reason), /at capacity/);
    } finally {
      await small.kill('SIGKILL');
    }
  });

  it("a queued job whose start the worker refuses ends failed with the refusal's code in error_code", async () => {
    const small = await startWorker(scheduler, { jobsDir: jobs, args: ['--capacity', '1'] });
    try {
      const busy = await curlPost(`${scheduler.api}/v1/jobs`, { worker_id: small.id, command: 'bash', path: 'long.sh' });
      assert.equal(busy.status, 201, busy.text);
      const queued = await curlPost(`${scheduler.api}/v1/jobs`, { worker_id: small.id, command: 'no-such-command-here' });
      assert.equal(queued.json.state, 'queued', queued.text);
      assert.equal(queued.json.error_code, null);
      await curlPost(`${scheduler.api}/v1/jobs/${busy.json.id}/stop`, {});
      const failed = await eventually(async () => {
        const job = (await getJson(`${scheduler.api}/v1/jobs/${queued.json.id}`)).json;
        return job.state === 'failed' ? job : undefined;
      }, 'the refused job to fail');
      assert.equal(failed.error_code, 'command_not_found', JSON.stringify(failed));
    } finally {
      await small.kill('SIGKILL');
    }
  });

  it('POST /start naming a worker that was killed (marked down) or that deregistered answers 503 worker_down', async () => {
    const [killed, left] = await Promise.all([startWorker(scheduler, { jobsDir: jobs }), startWorker(scheduler, { jobsDir: jobs })]);
    await killed.kill('SIGKILL');
    await left.kill('SIGTERM');
    const stateOf = async (id: string): Promise<unknown> => (await getJson(`${scheduler.api}/v1/workers/${id}`)).json.state;
    await eventually(async () => ((await stateOf(killed.id)) === 'down' ? true : undefined), 'the killed worker marked down');
    await eventually(async () => ((await stateOf(left.id)) === 'deregistered' ? true : undefined), 'the stopped worker deregistered');
    const before = await jobCount(scheduler.api);
    for (const [w, state] of [
      [killed, 'down'],
      [left, 'deregistered'],
    ] as const) {
      const res = await curlPost(`${scheduler.api}/start`, { worker_id: w.id, command: 'bash', path: 'ok.sh' });
      assertError(res, 'WORKER_DOWN');
      assert.match(String(res.json.error), new RegExp(`worker "${w.id}" is ${state}`));
      assertError(await curlPost(`${scheduler.api}/v1/jobs`, { worker_id: w.id, command: 'true' }), 'WORKER_DOWN');
    }
    assert.equal(await jobCount(scheduler.api), before, 'nothing queued');
  });
});
