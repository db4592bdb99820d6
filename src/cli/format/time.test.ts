import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { elapsed, formatDuration, relativeTime } from './time.js';

describe('formatDuration', () => {
  for (const [ms, expected] of [
    [0, '0s'],
    [40, '0s'],
    [1500, '1.5s'],
    [2000, '2s'],
    [9_990, '9.9s'],
    [10_000, '10s'],
    [59_999, '59s'],
    [65_000, '1m05s'],
    [3_599_000, '59m59s'],
    [3_720_000, '1h02m'],
    [90_000_000, '1d01h'],
    [-1, '-'],
    [Number.NaN, '-'],
  ] as const) {
    it(`${ms} → ${expected}`, () => assert.equal(formatDuration(ms), expected));
  }
});

describe('relativeTime', () => {
  const now = Date.parse('2025-01-10T12:00:00.000Z');
  for (const [iso, expected] of [
    ['2025-01-10T12:00:00.000Z', 'just now'],
    ['2025-01-10T12:00:05.000Z', 'just now'], // skew: in the future
    ['2025-01-10T11:59:59.400Z', 'just now'],
    ['2025-01-10T11:59:57.000Z', '3s ago'],
    ['2025-01-10T11:59:00.500Z', '59s ago'],
    ['2025-01-10T11:59:00.000Z', '1m ago'],
    ['2025-01-10T11:00:00.000Z', '1h ago'],
    ['2025-01-08T13:00:00.000Z', '47h ago'],
    ['2025-01-06T12:00:00.000Z', '4d ago'],
    [null, '-'],
    ['not a time', '-'],
  ] as const) {
    it(`${String(iso)} → ${expected}`, () => assert.equal(relativeTime(iso, now), expected));
  }
});

describe('elapsed', () => {
  const now = Date.parse('2025-01-10T12:00:00.000Z');
  for (const [start, end, expected] of [
    ['2025-01-10T11:59:58.000Z', '2025-01-10T11:59:59.500Z', '1.5s'],
    ['2025-01-10T11:58:00.000Z', null, '2m00s'],
    [null, null, '-'],
    ['2025-01-10T12:00:01.000Z', null, '0s'],
  ] as const) {
    it(`${String(start)}..${String(end)} → ${expected}`, () => assert.equal(elapsed(start, end, now), expected));
  }
});
