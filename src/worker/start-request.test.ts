import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StartJobRequest } from '../gen/baton/v1/worker.js';
import { jobEnvironment, startRequestProblem } from './start-request.js';

const valid: StartJobRequest = { jobId: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', command: 'bash', path: 'count.sh', args: [], env: {}, cwd: '' };

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
  ];
  for (const [patch, expected] of cases) assert.equal(startRequestProblem({ ...valid, ...patch }), expected, JSON.stringify(patch));
});

test('jobEnvironment passes only the base variables, the job id and the job env', () => {
  const worker = { PATH: '/bin', HOME: '/root', AWS_SECRET_ACCESS_KEY: 'secret', BATON_TOKEN: 't', TZ: 'UTC' };
  assert.deepEqual(jobEnvironment(worker, 'j1', { FOO: 'bar' }), { PATH: '/bin', HOME: '/root', TZ: 'UTC', BATON_JOB_ID: 'j1', FOO: 'bar' });
  assert.deepEqual(jobEnvironment({}, 'j2', {}), { PATH: '/usr/local/bin:/usr/bin:/bin', BATON_JOB_ID: 'j2' });
  assert.deepEqual(jobEnvironment({ PATH: '/bin' }, 'j3', { PATH: '/opt/bin' }), { PATH: '/opt/bin', BATON_JOB_ID: 'j3' });
});
