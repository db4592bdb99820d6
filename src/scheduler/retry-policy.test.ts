import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideRetry, DEFAULT_RETRY, type RetryDecision, type RetryOutcome, type RetryPolicy } from './retry-policy.js';

const policy: RetryPolicy = { maxAttempts: 5, backoffBaseMs: 1_000, backoffCapMs: 5_000, on: ['lost', 'failed'] };

// [name, policy, attempt that ended, outcome, jitter, decision] at now = 100_000
const table: [string, RetryPolicy, number, RetryOutcome, number, RetryDecision][] = [
  ['default: one attempt, never retried', DEFAULT_RETRY, 1, 'lost', 0, { giveUp: 'attempt 1 of 1: no attempts left' }],
  ['outcome not in the policy', policy, 1, 'timed_out', 0, { giveUp: 'the retry policy does not retry "timed_out"' }],
  ['first retry, no jitter: half the base', policy, 1, 'lost', 0, { retryAt: 100_500 }],
  ['first retry, most jitter: nearly the base', policy, 1, 'failed', 0.998, { retryAt: 100_999 }],
  ['second retry doubles', policy, 2, 'lost', 0.5, { retryAt: 101_500 }],
  ['third retry doubles again', policy, 3, 'lost', 0, { retryAt: 102_000 }],
  ['capped', policy, 4, 'lost', 0.5, { retryAt: 103_750 }],
  ['last attempt used', policy, 5, 'lost', 0, { giveUp: 'attempt 5 of 5: no attempts left' }],
  ['zero backoff retries at once', { ...policy, backoffBaseMs: 0 }, 1, 'lost', 0.7, { retryAt: 100_000 }],
];

for (const [name, p, attempt, outcome, jitter, want] of table) {
  test(`retry policy: ${name}`, () => {
    assert.deepEqual(decideRetry(p, attempt, outcome, 100_000, jitter), want);
  });
}
