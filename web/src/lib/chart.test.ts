import { test } from 'node:test';
import assert from 'node:assert/strict';
import { axisTicks, axisTop, finishedPerMinute } from './chart.js';

const NOW = Date.parse('2026-11-28T12:00:00Z');
const ago = (s: number): string => new Date(NOW - s * 1000).toISOString();

test('finishedPerMinute splits succeeded from the rest, oldest minute first', () => {
  const jobs = [
    { state: 'succeeded', finished_at: ago(10) },
    { state: 'succeeded', finished_at: ago(50) },
    { state: 'failed', finished_at: ago(30) },
    { state: 'timed_out', finished_at: ago(70) },
    { state: 'stopped', finished_at: ago(14 * 60 + 30) },
    { state: 'succeeded', finished_at: ago(15 * 60 + 1) },
    { state: 'running', finished_at: null },
    { state: 'succeeded', finished_at: ago(-5) },
  ];
  const { succeeded, failed } = finishedPerMinute(jobs, NOW);
  assert.equal(succeeded.length, 15);
  assert.equal(succeeded[14], 2);
  assert.equal(failed[14], 1);
  assert.equal(failed[13], 1);
  assert.equal(failed[0], 1);
  assert.equal(
    succeeded.reduce((a, b) => a + b),
    2,
  );
  assert.equal(
    failed.reduce((a, b) => a + b),
    3,
  );
});

test('axisTop and axisTicks', () => {
  const cases: Array<[number, number, number[]]> = [
    [0, 1, [0, 1]],
    [1, 1, [0, 1]],
    [2, 2, [0, 1, 2]],
    [3, 5, [0, 5]],
    [7, 10, [0, 5, 10]],
    [10, 10, [0, 5, 10]],
    [11, 20, [0, 10, 20]],
    [38, 50, [0, 25, 50]],
    [120, 200, [0, 100, 200]],
  ];
  for (const [peak, top, ticks] of cases) {
    assert.equal(axisTop(peak), top, String(peak));
    assert.deepEqual(axisTicks(top), ticks, String(top));
  }
});
