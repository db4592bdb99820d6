import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JobState, type JobStatus } from '../gen/baton/v1/common.js';
import { latestPerAttempt, type LatestStatus } from './status-burst.js';

const s = (jobId: string, state: JobState): JobStatus => ({
  jobId,
  state,
  exitCode: undefined,
  signal: '',
  error: '',
  startedAtMs: 1,
  finishedAtMs: 0,
  pid: 1,
  outputBytes: 0,
  outputTruncated: false,
});
const { JOB_STATE_RUNNING: RUNNING, JOB_STATE_SUCCEEDED: SUCCEEDED, JOB_STATE_FAILED: FAILED, JOB_STATE_STARTING: STARTING } = JobState;
// "id:STATE", and "+ran" when a RUNNING report of that attempt was superseded.
const brief = (list: LatestStatus[]): string[] => list.map(({ status: x, ranFirst }) => `${x.jobId}:${JobState[x.state].replace('JOB_STATE_', '')}${ranFirst ? '+ran' : ''}`);

// [name, burst, statuses kept]
const table: [string, JobStatus[], string[]][] = [
  ['empty burst', [], []],
  ['one status', [s('a', RUNNING)], ['a:RUNNING']],
  ['running then its end: only the end, seen running', [s('a', RUNNING), s('a', SUCCEEDED)], ['a:SUCCEEDED+ran']],
  ['every step of one attempt: the last', [s('a', STARTING), s('a', RUNNING), s('a', FAILED)], ['a:FAILED+ran']],
  ['an end without running first', [s('a', STARTING), s('a', FAILED)], ['a:FAILED']],
  ['a running report repeated: still running', [s('a', RUNNING), s('a', RUNNING)], ['a:RUNNING']],
  ['distinct jobs all kept, in order', [s('a', RUNNING), s('b', RUNNING), s('c', SUCCEEDED)], ['a:RUNNING', 'b:RUNNING', 'c:SUCCEEDED']],
  ['interleaved: in the order of each latest', [s('a', RUNNING), s('b', RUNNING), s('a', SUCCEEDED)], ['b:RUNNING', 'a:SUCCEEDED+ran']],
  ['a later attempt is another run id', [s('a', RUNNING), s('a', FAILED), s('a.2', RUNNING)], ['a:FAILED+ran', 'a.2:RUNNING']],
];

for (const [name, burst, want] of table) {
  test(`status burst: ${name}`, () => {
    assert.deepEqual(brief(latestPerAttempt(burst)), want);
  });
}
