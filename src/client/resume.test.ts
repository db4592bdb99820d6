// The rules for asking again for a followed output that broke off (./resume.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BatonApiError, BatonConnectionError } from './errors.js';
import { afterFailedReopen, isResumable, MAX_REOPEN_DELAY_MS, reopenDelayMs, SCHEDULER_AWAY_LIMIT_MS, type AttemptCheck } from './resume.js';

const api = (status: number): BatonApiError => new BatonApiError(status, 'x', 'GET', '/v1/jobs/j/output');

describe('isResumable', () => {
  for (const [name, err, expected] of [
    ['scheduler unreachable or the body cut off', new BatonConnectionError('http://h:1', 'connection reset'), true],
    ['worker unreachable (502)', api(502), true],
    ['worker down (503)', api(503), true],
    ['worker timeout (504)', api(504), true],
    ['job not found (404)', api(404), false],
    ['wrong state (409)', api(409), false],
    ['bad request (400)', api(400), false],
    ['unauthenticated (401)', api(401), false],
    ['internal error (500)', api(500), false],
    ['an abort', Object.assign(new Error('aborted'), { name: 'AbortError' }), false],
  ] as const) {
    it(`${name} → ${expected}`, () => assert.equal(isResumable(err), expected));
  }
});

describe('reopenDelayMs', () => {
  for (const [tries, ms] of [
    [0, 0],
    [1, 100],
    [2, 200],
    [4, 800],
    [5, 1600],
    [6, MAX_REOPEN_DELAY_MS],
    [60, MAX_REOPEN_DELAY_MS],
  ] as const) {
    it(`try ${tries} → ${ms} ms`, () => assert.equal(reopenDelayMs(tries), ms));
  }
});

describe('afterFailedReopen', () => {
  for (const [name, tries, check, awayMs, expected] of [
    ['the first reopen failing: again, without asking', 0, undefined, 0, 'retry'],
    ['the attempt runs on (its worker restarting)', 3, 'running', 0, 'retry'],
    ['the attempt is over and its output unreadable', 1, 'over', 0, 'give-up'],
    ['the scheduler away for a while', 5, 'scheduler-away', SCHEDULER_AWAY_LIMIT_MS - 1, 'retry'],
    ['the scheduler away past the limit', 5, 'scheduler-away', SCHEDULER_AWAY_LIMIT_MS, 'give-up'],
  ] as const satisfies readonly (readonly [string, number, AttemptCheck | undefined, number, 'retry' | 'give-up'])[]) {
    it(`${name} → ${expected}`, () => assert.equal(afterFailedReopen(tries, check, awayMs), expected));
  }
});
