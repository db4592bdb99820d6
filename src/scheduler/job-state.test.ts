import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JobState as WorkerJobState } from '../gen/baton/v1/common.js';
import { fromStates, fromWorkerState, isFinal, JOB_STATES, reportTransition, TRANSITION_NAMES, type JobStateName, type TransitionName } from './job-state.js';

const finals: JobStateName[] = ['succeeded', 'failed', 'stopped', 'timed_out', 'lost', 'skipped'];
const endings = 'succeeded failed stopped timed_out lost';

// Every move each transition allows, written out: "from>to to…", one per from-state.
const expected: Record<TransitionName, string[]> = {
  create: [],
  createPlaced: [],
  dispatch: ['queued>dispatched'],
  unplace: ['dispatched>queued'],
  start: ['dispatched>running'],
  finish: [`dispatched>${endings}`, `running>${endings}`, `unknown>${endings}`],
  disconnect: ['dispatched>unknown', 'running>unknown'],
  reconnect: ['unknown>running'],
  lose: ['unknown>lost'],
  retry: ['dispatched>queued', 'running>queued', 'unknown>queued'],
  stop: ['waiting>stopped', 'queued>stopped'],
  skip: ['waiting>skipped', 'queued>skipped'],
  release: ['waiting>queued'],
  summarise: [
    'queued>dispatched running succeeded failed stopped timed_out lost skipped',
    'dispatched>queued running succeeded failed stopped timed_out lost skipped',
    'running>queued dispatched succeeded failed stopped timed_out lost skipped',
  ],
};

/** Whether `name` may take a job from `from` to `to`, as the store's WHERE would. */
const allows = (name: TransitionName, from: JobStateName, to: JobStateName): boolean => fromStates(name, to).includes(from);

function expectedAllows(name: TransitionName, from: JobStateName, to: JobStateName): boolean {
  return expected[name].some((line) => {
    const [f, tos] = line.split('>');
    return f === from && tos!.split(' ').includes(to);
  });
}

test('the table names every transition the test expects, and no other', () => {
  assert.deepEqual([...TRANSITION_NAMES].sort(), Object.keys(expected).sort());
});

// Every state × transition pair, against every target state.
for (const name of TRANSITION_NAMES) {
  for (const from of JOB_STATES) {
    const want = JOB_STATES.filter((to) => expectedAllows(name, from, to));
    test(`${name} from ${from}: ${want.length === 0 ? 'refused' : `→ ${want.join(' | ')}`}`, () => {
      assert.deepEqual(
        JOB_STATES.filter((to) => allows(name, from, to)),
        want,
      );
    });
  }
}

test('final states', () => {
  assert.deepEqual(JOB_STATES.filter(isFinal), finals);
  assert.equal(isFinal('unknown'), false);
});

test('nothing leaves a final state, and only reconnect leaves unknown for running', () => {
  for (const name of TRANSITION_NAMES) {
    for (const from of finals) for (const to of JOB_STATES) assert.equal(allows(name, from, to), false, `${name}: ${from} → ${to}`);
    assert.equal(allows(name, 'unknown', 'running'), name === 'reconnect', name);
  }
});

test('worker states map to job states, and reports to transitions', () => {
  const cases: [WorkerJobState, JobStateName | null, TransitionName | null][] = [
    [WorkerJobState.JOB_STATE_UNSPECIFIED, null, null],
    [WorkerJobState.JOB_STATE_STARTING, 'dispatched', null],
    [WorkerJobState.JOB_STATE_RUNNING, 'running', 'start'],
    [WorkerJobState.JOB_STATE_SUCCEEDED, 'succeeded', 'finish'],
    [WorkerJobState.JOB_STATE_FAILED, 'failed', 'finish'],
    [WorkerJobState.JOB_STATE_STOPPED, 'stopped', 'finish'],
    [WorkerJobState.JOB_STATE_TIMED_OUT, 'timed_out', 'finish'],
    [WorkerJobState.JOB_STATE_LOST, 'lost', 'finish'],
    [WorkerJobState.UNRECOGNIZED, null, null],
  ];
  for (const [input, state, transition] of cases) {
    assert.equal(fromWorkerState(input), state);
    assert.equal(state && reportTransition(state), transition);
  }
});
