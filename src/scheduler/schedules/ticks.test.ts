import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CronTimes } from './cron.js';
import { MAX_MISSED_COUNT, planTicks, type TickInput } from './ticks.js';

const at = (iso: string): number => Date.parse(iso);
const isoList = (times: number[]): string[] => times.map((t) => new Date(t).toISOString());

function plan(cron: string, tz: string, cursor: string, now: string, windowS = 60, paused = false) {
  const input: TickInput = { times: new CronTimes(cron, tz), catchupWindowMs: windowS * 1000, paused, cursor: at(cursor), now: at(now) };
  const p = planTicks(input);
  return { ...p, due: isoList(p.due), next: p.next === null ? null : new Date(p.next).toISOString() };
}

test('a fake clock over DST days: due, missed and next ticks', () => {
  // Fired up to 01:59 CET; the clock reads 03:00:30 CEST on the spring-forward day: 02:30 moved to 03:00, due once.
  let p = plan('30 2 * * *', 'Europe/Berlin', '2026-03-29T00:59:00Z', '2026-03-29T01:00:30Z');
  assert.deepEqual(p.due, ['2026-03-29T01:00:00.000Z']);
  assert.equal(p.missed, null);
  assert.equal(p.next, '2026-03-30T00:30:00.000Z');

  // Fall back: 02:30 CEST fired; at 02:30 CET (the second time) nothing is due.
  p = plan('30 2 * * *', 'Europe/Berlin', '2026-10-25T00:30:00Z', '2026-10-25T01:30:10Z');
  assert.deepEqual(p.due, []);
  assert.equal(p.next, '2026-10-26T01:30:00.000Z');

  // New York, every minute, scheduler down from 06:58 to 07:01:30 UTC on the spring-forward day with a 60 s window.
  p = plan('* * * * *', 'America/New_York', '2026-03-08T06:58:00Z', '2026-03-08T07:01:30Z');
  assert.deepEqual(p.due, ['2026-03-08T07:01:00.000Z']);
  assert.deepEqual(p.missed, { count: 2, first: at('2026-03-08T06:59:00Z'), last: at('2026-03-08T07:00:00Z') });

  // Kolkata, daily at 00:00 local: 18:30Z. Down across it for 30 s, inside the window: due.
  p = plan('0 0 * * *', 'Asia/Kolkata', '2026-10-25T18:29:50Z', '2026-10-25T18:30:20Z');
  assert.deepEqual(p.due, ['2026-10-25T18:30:00.000Z']);
  // … down for 2 minutes with a 60 s window: missed, not run.
  p = plan('0 0 * * *', 'Asia/Kolkata', '2026-10-25T18:29:50Z', '2026-10-25T18:32:00Z');
  assert.deepEqual(p.due, []);
  assert.equal(p.missed?.count, 1);
});

test('every tick inside the window is due once, oldest first; the cursor moves to now', () => {
  const p = plan('* * * * * *', 'UTC', '2026-01-01T00:00:00Z', '2026-01-01T00:00:05.500Z', 3);
  assert.deepEqual(p.due, ['2026-01-01T00:00:03.000Z', '2026-01-01T00:00:04.000Z', '2026-01-01T00:00:05.000Z']);
  assert.deepEqual(p.missed, { count: 2, first: at('2026-01-01T00:00:01Z'), last: at('2026-01-01T00:00:02Z') });
  assert.equal(p.cursor, at('2026-01-01T00:00:05.500Z'));
  assert.equal(p.next, '2026-01-01T00:00:06.000Z');
  // Planned again from the new cursor at the same moment: nothing twice.
  assert.deepEqual(plan('* * * * * *', 'UTC', '2026-01-01T00:00:05.500Z', '2026-01-01T00:00:05.900Z', 3).due, []);
});

test('paused: nothing due, nothing missed, the cursor follows the clock', () => {
  const p = plan('* * * * * *', 'UTC', '2026-01-01T00:00:00Z', '2026-01-01T00:10:00Z', 60, true);
  assert.deepEqual(p.due, []);
  assert.equal(p.missed, null);
  assert.equal(p.next, null);
  assert.equal(p.cursor, at('2026-01-01T00:10:00Z'));
});

test('a year of missed seconds is counted up to a bound, not walked', () => {
  const p = plan('* * * * * *', 'UTC', '2025-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 2);
  assert.equal(p.missed?.count, MAX_MISSED_COUNT);
  assert.equal(p.missed?.last, at('2025-12-31T23:59:57Z'));
  assert.deepEqual(p.due, ['2025-12-31T23:59:58.000Z', '2025-12-31T23:59:59.000Z', '2026-01-01T00:00:00.000Z']);
});
