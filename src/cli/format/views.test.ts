import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Job, JobDetail, Worker } from '../../client/index.js';
import { palette } from './color.js';
import { commandLine, exitText, jobStatus, jobsTable, shellQuote, workersTable } from './views.js';

const plain = palette(false);
const now = Date.parse('2025-01-10T12:00:00.000Z');

const job = (over: Partial<Job> = {}): Job => ({
  id: '0194-aaaa',
  state: 'succeeded',
  worker_id: 'w-1',
  command: 'bash',
  path: '',
  args: ['-c', 'echo hi'],
  env: {},
  cwd: '',
  created_at: '2025-01-10T11:59:57.000Z',
  updated_at: '2025-01-10T11:59:58.500Z',
  finished_at: '2025-01-10T11:59:58.500Z',
  exit_code: 0,
  signal: null,
  error: null,
  error_code: null,
  output_truncated: false,
  reason: null,
  labels: {},
  priority: 0,
  pinned: false,
  attempt: 1,
  next_attempt_at: null,
  retry: { max_attempts: 1, backoff: { base: 1, cap: 60 }, on: ['lost'] },
  timeout: null,
  parent_id: null,
  children: [],
  submitted_by: null,
  stopped_by: null,
  schedule: null,
  scheduled_for: null,
  concurrency: null,
  after: [],
  after_condition: 'succeeded',
  name: null,
  stdin_bytes: 0,
  ...over,
});

describe('shellQuote and commandLine', () => {
  for (const [word, expected] of [
    ['echo', 'echo'],
    ['a b', "'a b'"],
    ['', "''"],
    ["it's", "'it'\\''s'"],
    ['--flag=x/y.z', '--flag=x/y.z'],
    ['$HOME', "'$HOME'"],
  ] as const) {
    it(`${JSON.stringify(word)} → ${expected}`, () => assert.equal(shellQuote(word), expected));
  }
  for (const [j, expected] of [
    [job(), "bash -c 'echo hi'"],
    [job({ command: 'bash', path: 'count.sh', args: [] }), 'bash count.sh'],
    [job({ command: 'true', args: [] }), 'true'],
  ] as const) {
    it(expected, () => assert.equal(commandLine(j), expected));
  }
});

describe('exitText', () => {
  for (const [j, expected] of [
    [job(), '0'],
    [job({ state: 'running', finished_at: null, exit_code: null }), '-'],
    [job({ state: 'failed', exit_code: 7 }), '7'],
    [job({ state: 'failed', exit_code: null, signal: 'SIGKILL' }), '137 (SIGKILL)'],
  ] as const) {
    it(`${j.state}/${String(j.exit_code)}/${String(j.signal)} → ${expected}`, () => assert.equal(exitText(j), expected));
  }
});

describe('tables', () => {
  it('jobs', () => {
    const lines = jobsTable(
      [job(), job({ id: '0194-bbbb', state: 'running', worker_id: 'w-22', args: ['long.sh'], finished_at: null, exit_code: null, created_at: '2025-01-10T11:58:00.000Z' })],
      now,
      plain,
    );
    assert.deepEqual(lines, [
      'JOB ID      STATE       WORKER   COMMAND             CREATED   DURATION   EXIT',
      "0194-aaaa   succeeded   w-1      bash -c 'echo hi'   3s ago    1.5s       0",
      '0194-bbbb   running     w-22     bash long.sh        2m ago    2m00s      -',
    ]);
  });

  it('jobs without a worker (queued, or the parent of a run_on "all" job)', () => {
    const queued = job({ id: '0194-cccc', state: 'queued', worker_id: null, finished_at: null, exit_code: null, reason: 'no worker has labels gpu=1' });
    const parent = job({ id: '0194-dddd', state: 'succeeded', worker_id: null, children: ['0194-eeee'] });
    assert.deepEqual(jobsTable([queued, parent], now, plain), [
      'JOB ID      STATE       WORKER   COMMAND             CREATED   DURATION   EXIT',
      "0194-cccc   queued      -        bash -c 'echo hi'   3s ago    3s         -",
      "0194-dddd   succeeded   -        bash -c 'echo hi'   3s ago    1.5s       0",
    ]);
    assert.match(jobStatus({ ...queued, attempts: [] }, now, plain)[2]!, /^Worker: +-$/);
  });

  it('jobs with a name: a NAME column, only then', () => {
    const named = job({ name: 'nightly' });
    assert.deepEqual(jobsTable([named, job({ id: '0194-bbbb' })], now, plain), [
      'JOB ID      NAME      STATE       WORKER   COMMAND             CREATED   DURATION   EXIT',
      "0194-aaaa   nightly   succeeded   w-1      bash -c 'echo hi'   3s ago    1.5s       0",
      "0194-bbbb   -         succeeded   w-1      bash -c 'echo hi'   3s ago    1.5s       0",
    ]);
  });

  it('jobs, wide: name, attempt, labels, absolute times', () => {
    const lines = jobsTable([job({ name: 'nightly', labels: { zone: 'gpu', team: 'ml' }, attempt: 2 }), job({ id: '0194-bbbb' })], now, plain, true);
    assert.deepEqual(lines, [
      'JOB ID      NAME      STATE       WORKER   ATTEMPT   LABELS             COMMAND             CREATED                FINISHED               DURATION   EXIT',
      "0194-aaaa   nightly   succeeded   w-1      2         zone=gpu,team=ml   bash -c 'echo hi'   2025-01-10T11:59:57Z   2025-01-10T11:59:58Z   1.5s       0",
      "0194-bbbb   -         succeeded   w-1      1         -                  bash -c 'echo hi'   2025-01-10T11:59:57Z   2025-01-10T11:59:58Z   1.5s       0",
    ]);
  });

  it('status: name, labels and stdin when the job has them', () => {
    const lines = jobStatus({ ...job({ name: 'nightly', labels: { zone: 'gpu' }, stdin_bytes: 3 }), attempts: [] }, now, plain);
    assert.match(lines[1]!, /^Name: +nightly$/);
    assert.ok(lines.some((l) => /^Labels: +zone=gpu$/.test(l)));
    assert.ok(lines.some((l) => /^Stdin: +3 bytes$/.test(l)));
    assert.ok(!jobStatus({ ...job(), attempts: [] }, now, plain).some((l) => /^(Name|Labels|Stdin):/.test(l)));
  });

  it('workers', () => {
    const w: Worker = {
      id: 'w-1',
      address: '127.0.0.1:7072',
      labels: { zone: 'a' },
      capacity: 16,
      running: 2,
      state: 'up',
      last_heartbeat: '2025-01-10T11:59:59.000Z',
      registered_at: '2025-01-10T11:00:00.000Z',
      version: '0.1.0',
      draining: false,
      unreachable: null,
    };
    const down = { ...w, id: 'w-2', labels: {}, state: 'down', running: 0, last_heartbeat: '2025-01-10T11:50:00.000Z' } as const;
    const unreachable = { ...w, id: 'w-3', labels: {}, running: 0, unreachable: 'the scheduler cannot connect to 0.0.0.0:7072 (…)' };
    assert.deepEqual(workersTable([w, down, unreachable], now, plain), [
      'WORKER ID   STATE              ADDRESS          RUNNING   LABELS   LAST HEARTBEAT   VERSION',
      'w-1         up                 127.0.0.1:7072   2/16      zone=a   1s ago           0.1.0',
      'w-2         down               127.0.0.1:7072   0/16      -        10m ago          0.1.0',
      'w-3         up (unreachable)   127.0.0.1:7072   0/16      -        1s ago           0.1.0',
    ]);
  });

  it('status', () => {
    const detail: JobDetail = {
      ...job({ state: 'failed', exit_code: 7, error: 'exited with code 7' }),
      attempts: [
        {
          number: 1,
          worker_id: 'w-1',
          state: 'failed',
          exit_code: 7,
          signal: null,
          error: 'exited with code 7',
          created_at: '2025-01-10T11:59:57.000Z',
          started_at: '2025-01-10T11:59:57.000Z',
          finished_at: '2025-01-10T11:59:58.500Z',
        },
      ],
    };
    assert.deepEqual(jobStatus(detail, now, plain), [
      'Job:      0194-aaaa',
      'State:    failed',
      'Worker:   w-1',
      "Command:  bash -c 'echo hi'",
      'Created:  2025-01-10T11:59:57.000Z (3s ago)',
      'Finished: 2025-01-10T11:59:58.500Z (1s ago)',
      'Duration: 1.5s',
      'Exit:     7',
      'Error:    exited with code 7',
      '',
      'Attempts:',
      '  #   WORKER   STATE    STARTED   FINISHED   EXIT   ERROR',
      '  1   w-1      failed   3s ago    1s ago     7      exited with code 7',
    ]);
  });
});

describe('waiting and skipped jobs', () => {
  it('ps shows why beside the state; status shows the reason, what it waits for and its key', () => {
    const waiting = job({
      state: 'waiting',
      worker_id: null,
      reason: 'waiting for job 0194-bbbb to succeed',
      after: ['0194-bbbb'],
      concurrency: { key: 'deploy', limit: 1, on_limit: 'queue' },
    });
    const skipped = job({ state: 'skipped', worker_id: null, exit_code: null, reason: 'job 0194-bbbb ended failed, and this job runs only after it succeeds' });
    const table = jobsTable([waiting, skipped], now, plain).join('\n');
    assert.match(table, /waiting \(waiting for job 0194-bbbb to succeed\)/);
    assert.match(table, /skipped \(job 0194-bbbb ended failed, and this job runs only after it…\)/);
    const status = jobStatus({ ...waiting, attempts: [] }, now, plain).join('\n');
    assert.match(status, /Reason: +waiting for job 0194-bbbb to succeed/);
    assert.match(status, /After: +0194-bbbb \(succeeded\)/);
    assert.match(status, /Concurrency: +key deploy, limit 1, on limit queue/);
  });
});
