import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelayMs } from './backoff.js';

test('backoffDelayMs doubles from 250ms, caps at 1s, jitters ±20%', () => {
  const cases: Array<[attempt: number, random: number, expected: number]> = [
    [0, 0.5, 250],
    [1, 0.5, 500],
    [2, 0.5, 1000],
    [3, 0.5, 1000],
    [50, 0.5, 1000],
    [1000, 0.5, 1000],
    [0, 0, 200],
    [0, 0.999999, 300],
    [4, 0, 800],
    [4, 0.999999, 1000],
  ];
  for (const [attempt, random, expected] of cases) {
    assert.equal(backoffDelayMs(attempt, random), expected, `attempt ${attempt}, random ${random}`);
  }
});
