import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Job } from '../../../src/client/index.js';
import { rerunRequest } from './job-spec.js';

const base: Job = {
  id: 'j1',
  state: 'failed',
  worker_id: 'w-1',
  reason: null,
  labels: {},
  priority: 0,
  pinned: false,
  attempt: 1,
  next_attempt_at: null,
  retry: { max_attempts: 1, backoff: { base: 1, cap: 60 }, on: ['failed'] },
  command: 'bash',
  path: '',
  args: ['-c', 'exit 3'],
  env: {},
  cwd: '',
  created_at: '2026-11-28T12:00:00.000Z',
  updated_at: '2026-11-28T12:00:01.000Z',
  finished_at: '2026-11-28T12:00:01.000Z',
  exit_code: 3,
  signal: null,
  error: 'exited with code 3',
  error_code: null,
  output_truncated: false,
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
};

test('rerunRequest copies what was asked for, nothing the scheduler added', () => {
  const cases: Array<[string, Partial<Job>, object]> = [
    ['plain: placed again by the scheduler, not on the same worker', {}, { command: 'bash', args: ['-c', 'exit 3'] }],
    ['pinned stays pinned', { pinned: true }, { command: 'bash', args: ['-c', 'exit 3'], worker_id: 'w-1' }],
    [
      'script, labels, priority, env, folder, timeout, name',
      { path: 'build.sh', args: [], labels: { zone: 'eu' }, priority: 5, env: { A: '1' }, cwd: 'sub', timeout: 90, name: 'nightly' },
      { command: 'bash', args: [], path: 'build.sh', labels: { zone: 'eu' }, priority: 5, env: { A: '1' }, cwd: 'sub', timeout: 90, name: 'nightly' },
    ],
    [
      'retries',
      { retry: { max_attempts: 3, backoff: { base: 0.5, cap: 10 }, on: ['failed', 'lost'] } },
      { command: 'bash', args: ['-c', 'exit 3'], retry: { max_attempts: 3, backoff: { base: 0.5, cap: 10 }, on: ['failed', 'lost'] } },
    ],
    ['a run_on-all parent runs on every matching worker again', { worker_id: null, children: ['c1', 'c2'] }, { command: 'bash', args: ['-c', 'exit 3'], run_on: 'all' }],
    [
      'concurrency rule and dependencies',
      { concurrency: { key: 'deploy', limit: 1, on_limit: 'queue' }, after: ['j0'], after_condition: 'finished' },
      { command: 'bash', args: ['-c', 'exit 3'], concurrency: { key: 'deploy', limit: 1, on_limit: 'queue' }, after: ['j0'], after_condition: 'finished' },
    ],
    ['one copy of a run_on-all job: again on its worker', { pinned: true, parent_id: 'p1' }, { command: 'bash', args: ['-c', 'exit 3'], worker_id: 'w-1' }],
  ];
  for (const [name, over, expected] of cases) assert.deepEqual(rerunRequest({ ...base, ...over }), expected, name);
});
