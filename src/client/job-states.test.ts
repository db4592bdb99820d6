import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isFinal, JOB_STATES as SCHEDULER_STATES } from '../scheduler/job-state.js';
import { FINAL_JOB_STATES, JOB_STATES } from './job-states.js';

test("the client's job states are the scheduler's, in its order, with the same final ones", () => {
  assert.deepEqual(JOB_STATES, [...SCHEDULER_STATES]);
  assert.deepEqual(FINAL_JOB_STATES, SCHEDULER_STATES.filter(isFinal));
});
