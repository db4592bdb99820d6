import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JobState, type JobStatus } from '../gen/baton/v1/common.js';
import { JobTable, type JobChange } from './job-table.js';

const status = (jobId: string, state: JobState = JobState.JOB_STATE_STARTING): JobStatus => ({
  jobId,
  state,
  exitCode: undefined,
  signal: '',
  error: '',
  startedAtMs: 0,
  finishedAtMs: 0,
  pid: 0,
  outputBytes: 0,
  outputTruncated: false,
});

test('changes get increasing seqs and reach listeners in order', () => {
  const table = new JobTable(10, () => {});
  const seen: JobChange[] = [];
  table.subscribe((change) => seen.push(change));
  table.add(status('a'));
  table.add(status('b'));
  table.update('a', { state: JobState.JOB_STATE_RUNNING });
  assert.deepEqual(
    seen.map((c) => [c.seq, c.status.jobId, c.status.state, c.previousState]),
    [
      [1, 'a', JobState.JOB_STATE_STARTING, undefined],
      [2, 'b', JobState.JOB_STATE_STARTING, undefined],
      [3, 'a', JobState.JOB_STATE_RUNNING, JobState.JOB_STATE_STARTING],
    ],
  );
  // The snapshot holds each job once, at its latest seq.
  assert.deepEqual(
    table.changesAfter(0).map((c) => [c.seq, c.status.jobId]),
    [
      [2, 'b'],
      [3, 'a'],
    ],
  );
  assert.deepEqual(
    table.changesAfter(2).map((c) => c.status.jobId),
    ['a'],
  );
  assert.throws(() => table.add(status('a')));
});

test('output size updates are silent', () => {
  const table = new JobTable(10, () => {});
  table.add(status('a'));
  let events = 0;
  table.subscribe(() => events++);
  table.setOutputBytes('a', 42);
  assert.equal(table.get('a')?.outputBytes, 42);
  assert.equal(events, 0);
});

test('the oldest finished jobs are evicted beyond the limit, active ones never', async () => {
  const evicted: string[] = [];
  const table = new JobTable(2, (jobId) => evicted.push(jobId));
  table.add(status('running'));
  for (const id of ['f1', 'f2', 'f3']) {
    table.add(status(id));
    table.update(id, { state: JobState.JOB_STATE_SUCCEEDED });
  }
  assert.deepEqual(evicted, ['f1']);
  assert.deepEqual(
    table
      .all()
      .map((s) => s.jobId)
      .sort(),
    ['f2', 'f3', 'running'],
  );
  assert.equal(table.update('f1', { state: JobState.JOB_STATE_FAILED }), undefined);
  const final = table.whenFinished('running');
  table.update('running', { state: JobState.JOB_STATE_STOPPED });
  assert.equal((await final)?.state, JobState.JOB_STATE_STOPPED);
});

test('what is sent only reaches the listeners with that change, never the table or a replay', () => {
  const table = new JobTable(10, () => {});
  const seen: JobChange[] = [];
  table.subscribe((change) => seen.push(change));
  table.add(status('a'));
  const outputData = Buffer.from('small\n');
  table.update('a', { state: JobState.JOB_STATE_SUCCEEDED, outputBytes: 6 }, { outputData });
  assert.equal(seen[1]?.status.outputData, outputData, 'the live end report carries the bytes');
  assert.equal(seen[1]?.status.outputBytes, 6);
  assert.equal(table.get('a')?.outputData, undefined, 'not held by the table');
  assert.equal(table.get('a')?.state, JobState.JOB_STATE_SUCCEEDED);
  assert.equal(table.changesAfter(0)[0]?.status.outputData, undefined, 'a replay has no bytes: the scheduler copies them');
});
