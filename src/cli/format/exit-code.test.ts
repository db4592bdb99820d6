import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BatonApiError } from '../../client/index.js';
import { attemptExitCode, exitCodeFor, exitText, runFailureExitCode, signalNumber, type FinishedJob } from './exit-code.js';

const job = (over: Partial<FinishedJob>): FinishedJob => ({ state: 'failed', exit_code: null, signal: null, error: null, error_code: null, ...over });

describe('exitCodeFor', () => {
  const cases: [string, FinishedJob, number | undefined][] = [
    ['succeeded', job({ state: 'succeeded', exit_code: 0 }), 0],
    ['succeeded without a code', job({ state: 'succeeded' }), 0],
    ['exit 7', job({ exit_code: 7, error: 'exited with code 7' }), 7],
    ['exit 255', job({ exit_code: 255 }), 255],
    ['SIGKILL', job({ signal: 'SIGKILL', error: 'killed by signal SIGKILL' }), 137],
    ['SIGSEGV', job({ signal: 'SIGSEGV' }), 139],
    ['signal only in the error text', job({ error: 'killed by signal SIGINT' }), 130],
    ['stopped with SIGTERM', job({ state: 'stopped', signal: 'SIGTERM', error: 'stopped with SIGTERM' }), 143],
    ['stopped, escalated', job({ state: 'stopped', signal: 'SIGKILL', error: 'killed by SIGKILL after stop' }), 137],
    ['stopped, no detail', job({ state: 'stopped' }), 143],
    ['stopped, but the job exited with its own code', job({ state: 'stopped', exit_code: 3 }), 3],
    ['stopped, caught SIGTERM and exited 0', job({ state: 'stopped', exit_code: 0, error: 'stopped with SIGTERM' }), 0],
    ['failed with code 0 is still a failure', job({ exit_code: 0 }), 1],
    ['timed out', job({ state: 'timed_out' }), 124],
    ['timed out, ended by SIGTERM', job({ state: 'timed_out', signal: 'SIGTERM', error: 'timed out after 1s' }), 124],
    ['timed out, caught SIGTERM and exited 0', job({ state: 'timed_out', exit_code: 0 }), 124],
    ['command not found', job({ error: 'command not found: nope', error_code: 'command_not_found' }), 127],
    ['permission denied', job({ error: 'permission denied: ./x.sh', error_code: 'command_not_executable' }), 126],
    ['words alone decide nothing', job({ error: 'command not found: nope' }), 1],
    ['lost', job({ state: 'lost', error: 'worker went away' }), 1],
    ['unknown signal name', job({ signal: 'SIGNOPE' }), 1],
    ['running', job({ state: 'running' }), undefined],
    ['unknown: its worker stopped answering, not over yet', job({ state: 'unknown' }), undefined],
    ['dispatched', job({ state: 'dispatched' }), undefined],
  ];
  for (const [name, j, expected] of cases) it(`${name} → ${String(expected)}`, () => assert.equal(exitCodeFor(j), expected));
});

describe('signalNumber', () => {
  for (const [name, n] of [
    ['SIGINT', 2],
    ['SIGKILL', 9],
    ['SIGTERM', 15],
    ['SIGSEGV', 11],
    ['NOPE', undefined],
    ['toString', undefined],
  ] as const) {
    it(`${name} → ${String(n)}`, () => assert.equal(signalNumber(name), n));
  }
});

describe('exitText: the CLI and the dashboard show an exit so', () => {
  const cases: [FinishedJob, string][] = [
    [job({ state: 'succeeded', exit_code: 0 }), '0'],
    [job({ state: 'running' }), '-'],
    [job({ exit_code: 7 }), '7'],
    [job({ error: 'command not found: nope', error_code: 'command_not_found' }), '127'],
    [job({ state: 'stopped', signal: 'SIGTERM' }), '143 (SIGTERM)'],
    [job({ state: 'stopped' }), '143'],
    [job({ signal: 'SIGKILL' }), '137 (SIGKILL)'],
    [job({ state: 'timed_out', signal: 'SIGTERM' }), '124 (SIGTERM)'],
  ];
  for (const [j, expected] of cases) it(`${j.state}/${String(j.exit_code)}/${String(j.signal)}/${String(j.error_code)} → ${expected}`, () => assert.equal(exitText(j), expected));
});

describe('attemptExitCode', () => {
  const a = (number: number, over: Partial<FinishedJob>) => ({ number, state: 'failed', exit_code: null, signal: null, error: 'command not found: nope', ...over });
  it("the job's error code is its current attempt's", () => assert.equal(attemptExitCode({ attempt: 2, error_code: 'command_not_found' }, a(2, {})), 127));
  it('an earlier attempt keeps only its words', () => assert.equal(attemptExitCode({ attempt: 2, error_code: 'command_not_found' }, a(1, {})), 1));
  it('a signal', () => assert.equal(attemptExitCode({ attempt: 1, error_code: null }, a(1, { signal: 'SIGKILL', error: null })), 137));
});

describe('runFailureExitCode', () => {
  const api = (status: number, code: string, message: string): Error => new BatonApiError(status, message, 'POST', '/v1/jobs', code);
  for (const [name, err, expected] of [
    ['command not found', api(400, 'command_not_found', 'command not found: nope'), 127],
    ['not executable', api(400, 'command_not_executable', 'permission denied: x.sh is not executable (chmod +x it)'), 126],
    ['other bad request', api(400, 'bad_request', 'cwd leaves the jobs folder'), 125],
    ['words alone decide nothing', api(400, 'bad_request', 'command not found: nope'), 125],
    ['worker down', api(503, 'worker_down', 'worker w is down'), 125],
    ['connection', new Error('cannot reach the scheduler'), 125],
  ] as const) {
    it(`${name} → ${expected}`, () => assert.equal(runFailureExitCode(err), expected));
  }
});
