import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JobState as WorkerJobState } from '../gen/baton/v1/common.js';
import { canTransition, fromWorkerState, isFinal, JOB_STATES, predecessorsOf, type JobStateName } from './job-state.js';

const finals: JobStateName[] = ['succeeded', 'failed', 'stopped', 'timed_out', 'lost'];

// [from, to, allowed]
const table: [JobStateName, JobStateName, boolean][] = [
  ['queued', 'dispatched', true],
  ['queued', 'running', true],
  ['queued', 'failed', true],
  ['dispatched', 'running', true],
  ['dispatched', 'succeeded', true],
  ['running', 'succeeded', true],
  ['running', 'stopped', true],
  ['running', 'lost', true],
  ['queued', 'queued', false],
  ['running', 'running', false],
  ['dispatched', 'queued', false],
  ['running', 'dispatched', false],
  ['running', 'queued', false],
  ...finals.flatMap((f): [JobStateName, JobStateName, boolean][] => JOB_STATES.map((to) => [f, to, false])),
];

for (const [from, to, allowed] of table) {
  test(`${from} → ${to} is ${allowed ? 'allowed' : 'refused'}`, () => {
    assert.equal(canTransition(from, to), allowed);
  });
}

test('final states', () => {
  assert.deepEqual(JOB_STATES.filter(isFinal), finals);
});

test('predecessorsOf agrees with canTransition', () => {
  assert.deepEqual(predecessorsOf('running'), ['queued', 'dispatched']);
  assert.deepEqual(predecessorsOf('succeeded'), ['queued', 'dispatched', 'running']);
  assert.deepEqual(predecessorsOf('queued'), []);
});

test('worker states map to job states', () => {
  const cases: [WorkerJobState, JobStateName | null][] = [
    [WorkerJobState.JOB_STATE_UNSPECIFIED, null],
    [WorkerJobState.JOB_STATE_STARTING, 'dispatched'],
    [WorkerJobState.JOB_STATE_RUNNING, 'running'],
    [WorkerJobState.JOB_STATE_SUCCEEDED, 'succeeded'],
    [WorkerJobState.JOB_STATE_FAILED, 'failed'],
    [WorkerJobState.JOB_STATE_STOPPED, 'stopped'],
    [WorkerJobState.JOB_STATE_TIMED_OUT, 'timed_out'],
    [WorkerJobState.JOB_STATE_LOST, 'lost'],
    [WorkerJobState.UNRECOGNIZED, null],
  ];
  for (const [input, expected] of cases) assert.equal(fromWorkerState(input), expected);
});
