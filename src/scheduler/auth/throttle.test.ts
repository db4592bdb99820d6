import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Attempt, FailureThrottle, type ThrottleRule } from './throttle.js';

const rule: ThrottleRule = { maxFailures: 3, windowMs: 60_000, maxTracked: 100 };

/** One request: who, what it presented, when, and the answer expected (429 with its wait in ms). */
type Step = [address: string, attempt: Attempt, at: number, expect: 'serve' | 401 | [429, number]];

/** The whole budget of `address` spent at `at`: each bad token answered 401. */
function spend(address: string, at: number): Step[] {
  return Array.from({ length: rule.maxFailures }, () => [address, 'invalid', at, 401]);
}

const cases: { name: string; rule?: ThrottleRule; steps: Step[] }[] = [
  { name: 'a fresh address gets 401 for a bad token', steps: [['a', 'invalid', 0, 401]] },
  {
    name: 'below the budget bad tokens get 401',
    steps: [
      ['a', 'invalid', 0, 401],
      ['a', 'invalid', 1, 401],
      ['a', 'invalid', 2, 401],
    ],
  },
  {
    name: 'a spent budget refuses failing attempts until the oldest failure leaves the window',
    steps: [
      ['a', 'invalid', 0, 401],
      ['a', 'invalid', 10_000, 401],
      ['a', 'invalid', 20_000, 401],
      ['a', 'invalid', 20_000, [429, 40_000]],
      ['a', 'invalid', 59_999, [429, 1]],
      ['a', 'invalid', 60_000, 401],
      ['a', 'invalid', 60_001, [429, 9_999]],
    ],
  },
  {
    name: 'a valid token is served whatever its address has spent',
    steps: [['a', 'valid', 0, 'serve'], ...spend('a', 0), ['a', 'valid', 1, 'serve'], ['a', 'invalid', 2, [429, 59_998]], ['a', 'valid', 3, 'serve']],
  },
  {
    name: 'a valid token does not restore the budget for the bad ones',
    steps: [...spend('a', 0), ['a', 'valid', 0, 'serve'], ['a', 'invalid', 0, [429, 60_000]]],
  },
  {
    name: 'refused attempts do not spend more: the wait runs from the counted failures',
    steps: [
      ['a', 'invalid', 0, 401],
      ['a', 'invalid', 1_000, 401],
      ['a', 'invalid', 2_000, 401],
      ['a', 'invalid', 3_000, [429, 57_000]],
      ['a', 'invalid', 30_000, [429, 30_000]],
      ['a', 'invalid', 60_000, 401],
    ],
  },
  {
    name: 'a missing token never spends the budget',
    steps: [
      ['a', 'missing', 0, 401],
      ['a', 'missing', 0, 401],
      ['a', 'missing', 0, 401],
      ['a', 'missing', 0, 401],
      ['a', 'invalid', 0, 401],
    ],
  },
  {
    name: 'a missing token is refused like a bad one once the budget is spent',
    steps: [...spend('a', 0), ['a', 'missing', 0, [429, 60_000]]],
  },
  {
    name: 'failures spread wider than the window never spend the budget',
    steps: [
      ['a', 'invalid', 0, 401],
      ['a', 'invalid', 30_000, 401],
      ['a', 'invalid', 60_000, 401],
      ['a', 'invalid', 60_001, 401],
    ],
  },
  {
    name: 'addresses are counted apart',
    steps: [...spend('a', 0), ['b', 'invalid', 0, 401], ['a', 'invalid', 0, [429, 60_000]], ['b', 'missing', 0, 401]],
  },
  {
    name: 'the least recently failing address is forgotten past maxTracked',
    rule: { maxFailures: 1, windowMs: 60_000, maxTracked: 2 },
    steps: [
      ['a', 'invalid', 0, 401],
      ['b', 'invalid', 1, 401],
      ['c', 'invalid', 2, 401],
      ['b', 'invalid', 3, [429, 59_998]],
      ['c', 'invalid', 3, [429, 59_999]],
      ['a', 'invalid', 3, 401],
    ],
  },
  {
    name: 'a window that has passed forgets the address',
    rule: { maxFailures: 1, windowMs: 10, maxTracked: 2 },
    steps: [
      ['a', 'invalid', 0, 401],
      ['a', 'missing', 5, [429, 5]],
      ['a', 'missing', 10, 401],
    ],
  },
];

for (const c of cases) {
  test(`throttle: ${c.name}`, () => {
    const throttle = new FailureThrottle(c.rule ?? rule);
    for (const [i, [address, attempt, at, expect]] of c.steps.entries()) {
      const want = expect === 'serve' ? { action: 'serve' } : expect === 401 ? { action: 'unauthorized' } : { action: 'throttled', retryAfterMs: expect[1] };
      assert.deepEqual(throttle.judge(address, attempt, at), want, `step ${i}: ${attempt} from ${address} at ${at}`);
    }
  });
}

test('throttle: memory stays bounded under many addresses', () => {
  const throttle = new FailureThrottle({ maxFailures: 10, windowMs: 60_000, maxTracked: 50 });
  for (let i = 0; i < 10_000; i++) throttle.judge(`10.0.${i >> 8}.${i & 255}`, 'invalid', i);
  assert.equal(throttle.tracked, 50);
});

test('throttle: valid and missing tokens track nothing', () => {
  const throttle = new FailureThrottle(rule);
  for (let i = 0; i < 100; i++) {
    throttle.judge(`a${i}`, 'valid', i);
    throttle.judge(`b${i}`, 'missing', i);
  }
  assert.equal(throttle.tracked, 0);
});

test('throttle: a rule without a positive limit is refused', () => {
  assert.throws(() => new FailureThrottle({ maxFailures: 0, windowMs: 1, maxTracked: 1 }));
});
