// `baton ps` and `baton status` on jobs no worker holds: queued (labels no worker has), stopped
// while queued, and the parent of a run_on "all" job. The API sends `worker_id: null` for
// these; the CLI once crashed on them ("Cannot read properties of null (reading 'replace')").
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { curlPost, startScheduler, startWorker, waitForFinal, type SchedulerHandle, type WorkerHandle } from './harness.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

describe('baton ps and status with jobs no worker holds', () => {
  let scheduler: SchedulerHandle;
  let worker: WorkerHandle;
  const ids: Record<'queued' | 'stopped' | 'parent', string> = { queued: '', stopped: '', parent: '' };

  const baton = async (...args: string[]) => {
    const env: NodeJS.ProcessEnv = { ...process.env, BATON_ADDR: scheduler.api };
    delete env.BATON_TOKEN;
    delete env.FORCE_COLOR;
    return promisify(execFile)(process.execPath, [MAIN, ...args], { env });
  };

  before(async () => {
    scheduler = await startScheduler();
    worker = await startWorker(scheduler);
    const submit = async (body: unknown): Promise<string> => {
      const res = await curlPost(`${scheduler.api}/v1/jobs`, body);
      assert.equal(res.status, 201, res.text);
      return String(res.json.id);
    };
    ids.queued = await submit({ command: 'true', labels: { gpu: 'nowhere' } });
    ids.stopped = await submit({ command: 'true', labels: { gpu: 'nowhere' } });
    assert.equal((await curlPost(`${scheduler.api}/v1/jobs/${ids.stopped}/stop`, {})).status, 200);
    ids.parent = await submit({ command: 'true', run_on: 'all' });
    await waitForFinal(scheduler.api, ids.parent);
  });
  after(() => Promise.all([worker.kill(), scheduler.kill()]));

  it('ps lists them with "-" for the worker', async () => {
    const { stdout } = await baton('ps');
    const rows = stdout.split('\n');
    assert.match(rows[0]!, /^JOB ID +STATE +WORKER +COMMAND/);
    for (const [name, state] of [
      ['queued', 'queued'],
      ['stopped', 'stopped'],
      ['parent', 'succeeded'],
    ] as const) {
      const row = rows.find((r) => r.startsWith(ids[name]));
      assert.ok(row, `${name} is listed:\n${stdout}`);
      assert.deepEqual(row.split(/\s+/).slice(1, 3), [state, '-'], row);
    }
    const json = JSON.parse((await baton('ps', '--json')).stdout) as { id: string; worker_id: string | null }[];
    assert.equal(json.find((j) => j.id === ids.queued)?.worker_id, null);
  });

  it('ps takes several states, newest first, and -o wide shows labels and absolute times', async () => {
    const twoStates = await baton('ps', '--state', 'queued,succeeded', '--json');
    const jobs = JSON.parse(twoStates.stdout) as { id: string; state: string; created_at: string }[];
    assert.deepEqual(
      jobs.map((j) => j.id).filter((id) => Object.values(ids).includes(id)),
      [ids.parent, ids.queued],
      'the parent (succeeded) is newer than the queued job; the stopped one is left out',
    );
    assert.ok(jobs.every((j) => j.state === 'queued' || j.state === 'succeeded'));
    const repeated = await baton('ps', '-s', 'queued', '-s', 'stopped', '-o', 'json');
    assert.deepEqual(
      (JSON.parse(repeated.stdout) as { id: string }[]).map((j) => j.id),
      [ids.stopped, ids.queued],
    );
    const wide = await baton('ps', '-o', 'wide', '-s', 'stopped');
    const [header, row] = wide.stdout.split('\n');
    assert.match(header!, /^JOB ID +NAME +STATE +WORKER +ATTEMPT +LABELS +COMMAND +CREATED +FINISHED +DURATION +EXIT$/);
    assert.match(row!, new RegExp(`^${ids.stopped} +- +stopped +- +1 +gpu=nowhere +true +\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ +\\d{4}-\\d\\d-\\d\\dT\\S+Z +\\S+ +143$`));
  });

  it('status shows each of them with "-" for the worker', async () => {
    for (const id of Object.values(ids)) {
      const { stdout } = await baton('status', id);
      assert.match(stdout, /^Worker: +-$/m, stdout);
    }
    const { stdout } = await baton('status', ids.parent);
    assert.match(stdout, /^State: +succeeded$/m);
  });
});
