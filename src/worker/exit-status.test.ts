import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JobState } from '../gen/baton/v1/common.js';
import { describeExit, describeSpawnError, formatDuration, isFinalState, stateName, type ExitReport, type ProcessExit } from './exit-status.js';

test('describeExit', () => {
  const cases: Array<[ProcessExit, ExitReport]> = [
    [
      { code: 0, signal: null },
      { state: JobState.JOB_STATE_SUCCEEDED, error: '' },
    ],
    [
      { code: 3, signal: null },
      { state: JobState.JOB_STATE_FAILED, error: 'exited with code 3' },
    ],
    [
      { code: null, signal: 'SIGSEGV' },
      { state: JobState.JOB_STATE_FAILED, error: 'killed by signal SIGSEGV' },
    ],
    [
      { code: null, signal: 'SIGKILL' },
      { state: JobState.JOB_STATE_FAILED, error: 'killed by signal SIGKILL' },
    ],
    [
      { code: null, signal: 'SIGTERM', stop: { graceMs: 5000, escalated: false } },
      { state: JobState.JOB_STATE_STOPPED, error: 'stopped with SIGTERM' },
    ],
    // A job that traps SIGTERM and exits on its own is still stopped.
    [
      { code: 0, signal: null, stop: { graceMs: 5000, escalated: false } },
      { state: JobState.JOB_STATE_STOPPED, error: 'stopped with SIGTERM' },
    ],
    [
      { code: null, signal: 'SIGKILL', stop: { graceMs: 5000, escalated: true } },
      { state: JobState.JOB_STATE_STOPPED, error: 'killed by SIGKILL after stop (did not exit within 5s of SIGTERM)' },
    ],
    [
      { code: null, signal: 'SIGKILL', stop: { graceMs: 250, escalated: true } },
      { state: JobState.JOB_STATE_STOPPED, error: 'killed by SIGKILL after stop (did not exit within 250ms of SIGTERM)' },
    ],
    // A job past its timeout, whatever its exit looked like.
    [
      { code: null, signal: 'SIGTERM', stop: { graceMs: 5000, escalated: false, timeoutMs: 30_000 } },
      { state: JobState.JOB_STATE_TIMED_OUT, error: 'timed out after 30s' },
    ],
    [
      { code: 0, signal: null, stop: { graceMs: 5000, escalated: false, timeoutMs: 1500 } },
      { state: JobState.JOB_STATE_TIMED_OUT, error: 'timed out after 1.5s' },
    ],
    [
      { code: null, signal: 'SIGKILL', stop: { graceMs: 250, escalated: true, timeoutMs: 2000 } },
      { state: JobState.JOB_STATE_TIMED_OUT, error: 'timed out after 2s (killed by SIGKILL: did not exit within 250ms of SIGTERM)' },
    ],
  ];
  for (const [exit, expected] of cases) assert.deepEqual(describeExit(exit), expected, JSON.stringify(exit));
});

test('describeSpawnError', () => {
  const cases: Array<[code: string | undefined, expected: string]> = [
    ['ENOENT', 'command not found: foo'],
    ['EACCES', 'permission denied: foo'],
    ['EPERM', 'permission denied: foo'],
    ['E2BIG', 'could not start foo: boom'],
    [undefined, 'could not start foo: boom'],
  ];
  for (const [code, expected] of cases) assert.equal(describeSpawnError(code, 'foo', 'boom'), expected);
});

test('formatDuration', () => {
  const cases: Array<[number, string]> = [
    [5000, '5s'],
    [1500, '1.5s'],
    [250, '250ms'],
    [1234, '1234ms'],
    [0, '0ms'],
  ];
  for (const [ms, expected] of cases) assert.equal(formatDuration(ms), expected);
});

test('state names and finality', () => {
  assert.equal(stateName(JobState.JOB_STATE_SUCCEEDED), 'succeeded');
  assert.equal(stateName(JobState.JOB_STATE_TIMED_OUT), 'timed_out');
  assert.equal(isFinalState(JobState.JOB_STATE_RUNNING), false);
  assert.equal(isFinalState(JobState.JOB_STATE_STARTING), false);
  assert.equal(isFinalState(JobState.JOB_STATE_STOPPED), true);
});
