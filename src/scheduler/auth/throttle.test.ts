import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FailureThrottle, type ThrottleRule } from './throttle.js';

const rule: ThrottleRule = { maxFailures: 3, windowMs: 60_000, maxTracked: 100 };

type Step = { fail: string; at: number } | { check: string; at: number; wait: number };

const cases: { name: string; rule?: ThrottleRule; steps: Step[] }[] = [
  { name: 'a fresh address may try', steps: [{ check: 'a', at: 0, wait: 0 }] },
  {
    name: 'below the limit is allowed',
    steps: [
      { fail: 'a', at: 0 },
      { fail: 'a', at: 1 },
      { check: 'a', at: 2, wait: 0 },
    ],
  },
  {
    name: 'at the limit it waits until the oldest failure leaves the window',
    steps: [
      { fail: 'a', at: 0 },
      { fail: 'a', at: 10_000 },
      { fail: 'a', at: 20_000 },
      { check: 'a', at: 20_000, wait: 40_000 },
      { check: 'a', at: 59_999, wait: 1 },
      { check: 'a', at: 60_000, wait: 0 },
    ],
  },
  {
    name: 'failures spread wider than the window never block',
    steps: [
      { fail: 'a', at: 0 },
      { fail: 'a', at: 30_000 },
      { fail: 'a', at: 60_000 },
      { check: 'a', at: 60_000, wait: 0 },
    ],
  },
  {
    name: 'addresses are counted apart',
    steps: [
      { fail: 'a', at: 0 },
      { fail: 'a', at: 0 },
      { fail: 'a', at: 0 },
      { check: 'b', at: 0, wait: 0 },
      { check: 'a', at: 0, wait: 60_000 },
    ],
  },
  {
    name: 'failing on while blocked keeps the wait to the window after the latest failures',
    steps: [
      { fail: 'a', at: 0 },
      { fail: 'a', at: 1_000 },
      { fail: 'a', at: 2_000 },
      { fail: 'a', at: 3_000 },
      { check: 'a', at: 3_000, wait: 58_000 },
    ],
  },
  {
    name: 'the least recently failing address is forgotten past maxTracked',
    rule: { maxFailures: 1, windowMs: 60_000, maxTracked: 2 },
    steps: [
      { fail: 'a', at: 0 },
      { fail: 'b', at: 1 },
      { fail: 'c', at: 2 },
      { check: 'a', at: 3, wait: 0 },
      { check: 'b', at: 3, wait: 59_998 },
      { check: 'c', at: 3, wait: 59_999 },
    ],
  },
  {
    name: 'a window that has passed forgets the address',
    rule: { maxFailures: 1, windowMs: 10, maxTracked: 2 },
    steps: [
      { fail: 'a', at: 0 },
      { check: 'a', at: 5, wait: 5 },
      { check: 'a', at: 10, wait: 0 },
    ],
  },
];

for (const c of cases) {
  test(`throttle: ${c.name}`, () => {
    const throttle = new FailureThrottle(c.rule ?? rule);
    for (const [i, step] of c.steps.entries()) {
      if ('fail' in step) throttle.recordFailure(step.fail, step.at);
      else assert.equal(throttle.retryAfterMs(step.check, step.at), step.wait, `step ${i}: ${step.check} at ${step.at}`);
    }
  });
}

test('throttle: memory stays bounded under many addresses', () => {
  const throttle = new FailureThrottle({ maxFailures: 10, windowMs: 60_000, maxTracked: 50 });
  for (let i = 0; i < 10_000; i++) throttle.recordFailure(`10.0.${i >> 8}.${i & 255}`, i);
  assert.equal(throttle.tracked, 50);
});

test('throttle: a rule without a positive limit is refused', () => {
  assert.throws(() => new FailureThrottle({ maxFailures: 0, windowMs: 1, maxTracked: 1 }));
});
