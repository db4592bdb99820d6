// Property: whatever order worker reports, lease expiries, stream breaks, returns, windows
// running out, retries and stops come in, a job reaches at most one final state, and nothing
// changes it after. The model applies transitions exactly as the store's conditional writes
// do: the attempt and worker must be the job's current ones, and the job's state must be one
// `fromStates` allows (the same function that builds the store's WHERE).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fromStates, isFinal, reportTransition, type JobStateName, type TransitionName } from './job-state.js';
import { decideRetry, isRetryOutcome, type RetryPolicy } from './retry-policy.js';

interface Job {
  state: JobStateName;
  attempt: number;
  workerId: string;
  /** Each attempt's state, by number - 1. */
  attempts: JobStateName[];
  /** Every state the job was written in, in order (what its events show). */
  history: JobStateName[];
  attemptHistory: JobStateName[][];
}

type Event =
  | { kind: 'dispatch'; worker: string }
  | { kind: 'unplace'; worker: string }
  | { kind: 'report'; worker: string; attempt: number; state: JobStateName }
  | { kind: 'silent'; worker: string } // lease missed, or its heartbeat stream broke
  | { kind: 'windowPassed'; worker: string }
  | { kind: 'stop' };

const WORKERS = ['w-1', 'w-2'];
const REPORTED: JobStateName[] = ['running', 'succeeded', 'failed', 'stopped', 'timed_out', 'lost'];

const event: fc.Arbitrary<Event> = fc.oneof(
  fc.record({ kind: fc.constant('dispatch' as const), worker: fc.constantFrom(...WORKERS) }),
  fc.record({ kind: fc.constant('unplace' as const), worker: fc.constantFrom(...WORKERS) }),
  fc.record({ kind: fc.constant('report' as const), worker: fc.constantFrom(...WORKERS), attempt: fc.integer({ min: 1, max: 4 }), state: fc.constantFrom(...REPORTED) }),
  fc.record({ kind: fc.constant('silent' as const), worker: fc.constantFrom(...WORKERS) }),
  fc.record({ kind: fc.constant('windowPassed' as const), worker: fc.constantFrom(...WORKERS) }),
  fc.record({ kind: fc.constant('stop' as const) }),
);

const policy: fc.Arbitrary<RetryPolicy> = fc.record({
  maxAttempts: fc.integer({ min: 1, max: 4 }),
  backoffBaseMs: fc.constant(1),
  backoffCapMs: fc.constant(1),
  on: fc.subarray(['failed', 'lost', 'timed_out'] as const),
});

function write(job: Job, state: JobStateName, attemptState: JobStateName = state): void {
  job.state = state;
  job.history.push(state);
  job.attempts[job.attempt - 1] = attemptState;
  job.attemptHistory[job.attempt - 1]!.push(attemptState);
}

/** The store's conditional write: applied only for the current attempt on its worker, from a state the transition allows. */
function transition(job: Job, name: TransitionName, attempt: number, workerId: string, to: JobStateName, retry: RetryPolicy): boolean {
  if (attempt !== job.attempt || workerId !== job.workerId) return false;
  // The writer's retry path: the attempt ends, and the job is queued for the next one, in one write.
  if (isRetryOutcome(to) && workerId !== '' && !('giveUp' in decideRetry(retry, attempt, to, 0, 0))) {
    const from = fromStates('retry', 'queued').filter((s) => fromStates(name, to).includes(s));
    if (!from.includes(job.state)) return false;
    write(job, 'queued', to);
    job.attempt++;
    job.workerId = '';
    job.attempts.push('queued');
    job.attemptHistory.push(['queued']);
    return true;
  }
  if (!fromStates(name, to).includes(job.state)) return false;
  if (name === 'dispatch') job.workerId = workerId;
  if (name === 'unplace') job.workerId = '';
  write(job, to);
  return true;
}

function apply(job: Job, e: Event, retry: RetryPolicy): void {
  switch (e.kind) {
    case 'dispatch':
      if (job.workerId === '') transition(job, 'dispatch', job.attempt, '', 'dispatched', retry) && (job.workerId = e.worker);
      return;
    case 'unplace':
      transition(job, 'unplace', job.attempt, e.worker, 'queued', retry);
      return;
    case 'report': {
      const name = reportTransition(e.state)!;
      // A running report for an unknown attempt: its worker answers again.
      if (!transition(job, name, e.attempt, e.worker, e.state, retry) && name === 'start') transition(job, 'reconnect', e.attempt, e.worker, 'running', retry);
      return;
    }
    case 'silent':
      transition(job, 'disconnect', job.attempt, e.worker, 'unknown', retry);
      return;
    case 'windowPassed':
      transition(job, 'lose', job.attempt, e.worker, 'lost', retry);
      return;
    case 'stop':
      // Queued: stopped here; on a worker the stop is the worker's `stopped` report (a `report` event).
      transition(job, 'stop', job.attempt, '', 'stopped', retry);
      return;
  }
}

test('any interleaving: at most one final state per job, nothing changes after it, each attempt ends once', () => {
  fc.assert(
    fc.property(policy, fc.array(event, { maxLength: 60 }), (retry, events) => {
      const job: Job = { state: 'queued', attempt: 1, workerId: '', attempts: ['queued'], history: ['queued'], attemptHistory: [['queued']] };
      for (const e of events) {
        const before = JSON.stringify(job);
        const wasFinal = isFinal(job.state);
        apply(job, e, retry);
        if (wasFinal) assert.equal(JSON.stringify(job), before, `a final job changed on ${JSON.stringify(e)}`);
      }
      const finals = job.history.filter(isFinal);
      assert.ok(finals.length <= 1, `more than one final state: ${job.history.join(' > ')}`);
      if (finals.length === 1) assert.ok(isFinal(job.history.at(-1)!), `a final state was not the last: ${job.history.join(' > ')}`);
      for (const [i, h] of job.attemptHistory.entries()) {
        const ends = h.filter(isFinal);
        assert.ok(ends.length <= 1 && (ends.length === 0 || isFinal(h.at(-1)!)), `attempt ${i + 1} ended more than once: ${h.join(' > ')}`);
      }
      assert.ok(job.attempt <= retry.maxAttempts, `attempt ${job.attempt} of at most ${retry.maxAttempts}`);
    }),
    { numRuns: 2_000 },
  );
});

test('lost is final: no report from the worker that came back moves it', () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...REPORTED), { maxLength: 10 }), (late) => {
      const retry: RetryPolicy = { maxAttempts: 1, backoffBaseMs: 1, backoffCapMs: 1, on: [] };
      const job: Job = { state: 'queued', attempt: 1, workerId: '', attempts: ['queued'], history: ['queued'], attemptHistory: [['queued']] };
      for (const e of [
        { kind: 'dispatch', worker: 'w-1' },
        { kind: 'report', worker: 'w-1', attempt: 1, state: 'running' },
        { kind: 'silent', worker: 'w-1' },
        { kind: 'windowPassed', worker: 'w-1' },
      ] as Event[])
        apply(job, e, retry);
      assert.deepEqual(job.history, ['queued', 'dispatched', 'running', 'unknown', 'lost']);
      for (const state of late) apply(job, { kind: 'report', worker: 'w-1', attempt: 1, state }, retry);
      assert.equal(job.state, 'lost');
      assert.equal(job.history.length, 5);
    }),
  );
});
