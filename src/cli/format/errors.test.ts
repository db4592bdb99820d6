import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BatonApiError, BatonConnectionError } from '../../client/index.js';
import { describeError } from './errors.js';

describe('describeError', () => {
  const abort = new DOMException('This operation was aborted', 'AbortError');
  const cases: [string, unknown, string][] = [
    [
      'unreachable',
      new BatonConnectionError('http://127.0.0.1:7070', 'connection refused'),
      'cannot reach the scheduler at http://127.0.0.1:7070 (connection refused): is `baton scheduler` running?',
    ],
    ['unknown job', new BatonApiError(404, 'job "x" not found', 'GET', '/v1/jobs/x', 'job_not_found'), 'job "x" not found (`baton ps` lists jobs)'],
    ['unknown worker', new BatonApiError(404, 'worker "w" not found', 'POST', '/v1/jobs', 'worker_not_found'), 'worker "w" not found (`baton workers` lists workers)'],
    [
      'worker down',
      new BatonApiError(503, 'worker "w" is down and takes no jobs', 'POST', '/v1/jobs', 'worker_down'),
      'worker "w" is down and takes no jobs (`baton workers` shows which are up)',
    ],
    ['other 404', new BatonApiError(404, 'no route for GET /x', 'GET', '/x', 'not_found'), 'no route for GET /x'],
    ['a 404 without a code (not the scheduler)', new BatonApiError(404, 'job page moved', 'GET', '/x'), 'job page moved'],
    ['no token', new BatonApiError(401, 'a token is required', 'GET', '/v1/jobs', 'unauthenticated'), 'a token is required (pass --token or set BATON_TOKEN)'],
    ['forbidden', new BatonApiError(403, 'read-only token', 'POST', '/v1/jobs', 'forbidden'), 'read-only token (the token is not allowed to do this)'],
    ['conflict', new BatonApiError(409, 'job j already ended (succeeded)', 'POST', '/v1/jobs/j/stop', 'wrong_state'), 'job j already ended (succeeded)'],
    ['multi-line message', new Error('first\n  second'), 'first second'],
    ['abort', abort, 'interrupted'],
    ['not an Error', 'weird', 'weird'],
  ];
  for (const [name, err, expected] of cases) it(name, () => assert.equal(describeError(err), expected));
});
