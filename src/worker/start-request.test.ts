import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StartJobRequest } from '../gen/baton/v1/worker.js';
import { jobEnvironment, startRequestProblem } from './start-request.js';

const NO_LIMITS = { memoryBytes: 0, cpu: 0, pids: 0, readBps: 0, writeBps: 0, readIops: 0, writeIops: 0 };
const valid: StartJobRequest = {
  jobId: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
  command: 'bash',
  path: 'count.sh',
  args: [],
  env: {},
  cwd: '',
  resources: undefined,
  network: '',
  isolate: false,
  timeoutMs: 0,
  stdin: Buffer.alloc(0),
};

test('startRequestProblem', () => {
  const cases: Array<[Partial<StartJobRequest>, string | undefined]> = [
    [{}, undefined],
    [{ jobId: '' }, 'job_id is empty: the scheduler must assign one'],
    [{ jobId: '../x' }, 'job_id "../x" is not valid: use up to 128 letters, digits, ".", "_" or "-"'],
    [{ jobId: '..' }, 'job_id ".." is not valid: use up to 128 letters, digits, ".", "_" or "-"'],
    [{ command: '' }, 'command is empty: give a program to run, such as "bash"'],
    [{ command: '   ' }, 'command is empty: give a program to run, such as "bash"'],
    [{ args: ['ok', 'bad\0'] }, 'an argument contains a NUL byte'],
    [{ env: { GOOD_1: 'x' } }, undefined],
    [{ env: { 'A=B': 'x' } }, 'environment variable name "A=B" is not valid: use letters, digits and "_"'],
    [{ env: { A: 'x\0' } }, 'environment variable A contains a NUL byte'],
    [{ resources: { ...NO_LIMITS, cpu: Number.NaN } }, 'resources.cpu must be a positive number of CPUs'],
    [{ resources: { ...NO_LIMITS, cpu: -1 } }, 'resources.cpu must be a positive number of CPUs'],
    [{ resources: { ...NO_LIMITS, memoryBytes: 64 * 1024 ** 2, cpu: 0.5, pids: 10 } }, undefined],
    [{ resources: { ...NO_LIMITS, writeBps: 2 ** 60 } }, 'resources.write_bps must be a whole number of bytes a second'],
    [{ resources: { ...NO_LIMITS, readBps: 1.5 } }, 'resources.read_bps must be a whole number of bytes a second'],
    [{ resources: { ...NO_LIMITS, readBps: 1 << 20, writeBps: 1 << 20, readIops: 100, writeIops: 100 } }, undefined],
    [{ timeoutMs: 86_400_000 }, undefined],
    [{ timeoutMs: 2 ** 31 }, 'timeout_ms 2147483648 is not valid: use a whole number of milliseconds up to 24 days (0: none)'],
    [{ timeoutMs: -1 }, 'timeout_ms -1 is not valid: use a whole number of milliseconds up to 24 days (0: none)'],
  ];
  for (const [patch, expected] of cases) assert.equal(startRequestProblem({ ...valid, ...patch }), expected, JSON.stringify(patch));
});

test('jobEnvironment passes only the allow-listed variables, the job id and the job env', () => {
  const worker = { PATH: '/bin', HOME: '/root', AWS_SECRET_ACCESS_KEY: 'secret', BATON_TOKEN: 't', TZ: 'UTC', USER: 'root' };
  const allow = ['PATH', 'HOME', 'LANG', 'TZ'];
  const cases: Array<[string, Parameters<typeof jobEnvironment>, Record<string, string>]> = [
    ['default list', [worker, allow, 'j1', { FOO: 'bar' }], { PATH: '/bin', HOME: '/root', TZ: 'UTC', BATON_JOB_ID: 'j1', FOO: 'bar' }],
    ['empty worker env: fallback PATH', [{}, allow, 'j2', {}], { PATH: '/usr/local/bin:/usr/bin:/bin', BATON_JOB_ID: 'j2' }],
    ['the job overrides', [{ PATH: '/bin' }, allow, 'j3', { PATH: '/opt/bin' }], { PATH: '/opt/bin', BATON_JOB_ID: 'j3' }],
    ['a secret listed on purpose', [worker, ['PATH', 'BATON_TOKEN'], 'j4', {}], { PATH: '/bin', BATON_TOKEN: 't', BATON_JOB_ID: 'j4' }],
    ['empty list: PATH fallback only', [worker, [], 'j5', {}], { PATH: '/usr/local/bin:/usr/bin:/bin', BATON_JOB_ID: 'j5' }],
    [
      'job user replaces HOME and USER',
      [worker, ['HOME', 'USER'], 'j6', {}, { user: 'nobody', home: '/nonexistent' }],
      { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/nonexistent', USER: 'nobody', BATON_JOB_ID: 'j6' },
    ],
  ];
  for (const [name, args, expected] of cases) assert.deepEqual(jobEnvironment(...args), expected, name);
});
