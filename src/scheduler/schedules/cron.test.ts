import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatonError } from '../../common/errors.js';
import { CronTimes } from './cron.js';

const at = (iso: string): number => Date.parse(iso);
const isoList = (times: number[]): string[] => times.map((t) => new Date(t).toISOString());

test('fire times over DST days, in several zones', () => {
  const cases: { name: string; cron: string; tz: string; from: string; want: string[] }[] = [
    {
      // 02:30 does not exist in Berlin on 2026-03-29 (02:00 CET → 03:00 CEST): moved to 03:00 CEST, once.
      name: 'Berlin spring forward: a fixed time in the gap moves to the end of the gap',
      cron: '30 2 * * *',
      tz: 'Europe/Berlin',
      from: '2026-03-28T12:00:00Z',
      want: ['2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z'],
    },
    {
      name: 'Berlin spring forward: an interval skips the times in the gap',
      cron: '0,30 * * * *',
      tz: 'Europe/Berlin',
      from: '2026-03-29T00:15:00Z',
      // 01:30 CET (00:30Z), then 03:00 CEST (01:00Z): 02:00 and 02:30 do not exist.
      want: ['2026-03-29T00:30:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-29T01:30:00.000Z'],
    },
    {
      // 02:30 happens twice in Berlin on 2026-10-25 (CEST 00:30Z, then CET 01:30Z): fires once, at the first.
      name: 'Berlin fall back: a repeated fixed time fires once',
      cron: '30 2 * * *',
      tz: 'Europe/Berlin',
      from: '2026-10-24T12:00:00Z',
      want: ['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z'],
    },
    {
      name: 'Berlin fall back: an interval fires on both occurrences (distinct instants)',
      cron: '0,30 * * * *',
      tz: 'Europe/Berlin',
      from: '2026-10-25T00:10:00Z',
      want: ['2026-10-25T00:30:00.000Z', '2026-10-25T01:00:00.000Z', '2026-10-25T01:30:00.000Z'],
    },
    {
      // 02:30 does not exist in New York on 2026-03-08: 03:00 EDT.
      name: 'New York spring forward',
      cron: '0 30 2 * * *',
      tz: 'America/New_York',
      from: '2026-03-08T00:00:00Z',
      want: ['2026-03-08T07:00:00.000Z', '2026-03-09T06:30:00.000Z'],
    },
    {
      // 01:30 happens twice in New York on 2026-11-01 (EDT 05:30Z, EST 06:30Z): once.
      name: 'New York fall back',
      cron: '30 1 * * *',
      tz: 'America/New_York',
      from: '2026-11-01T00:00:00Z',
      want: ['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z'],
    },
    {
      name: 'Kolkata (+05:30): local midnight is 18:30 UTC',
      cron: '0 0 * * *',
      tz: 'Asia/Kolkata',
      from: '2026-10-25T00:10:00Z',
      want: ['2026-10-25T18:30:00.000Z', '2026-10-26T18:30:00.000Z'],
    },
    {
      // Adelaide leaves daylight time on 2026-04-05: 03:00 ACDT → 02:00 ACST; hours stay on the half hour in UTC.
      name: 'Adelaide (+10:30 / +09:30) fall back: the hourly ticks stay on the half hour UTC',
      cron: '0 * * * *',
      tz: 'Australia/Adelaide',
      from: '2026-04-04T15:00:00Z',
      want: ['2026-04-04T15:30:00.000Z', '2026-04-04T16:30:00.000Z', '2026-04-04T17:30:00.000Z'],
    },
    { name: '@every 1s', cron: '@every 1s', tz: 'UTC', from: '2026-01-01T00:00:00Z', want: ['2026-01-01T00:00:01.000Z', '2026-01-01T00:00:02.000Z'] },
    { name: '@every 30s', cron: '@every 30s', tz: 'UTC', from: '2026-01-01T00:00:00Z', want: ['2026-01-01T00:00:30.000Z', '2026-01-01T00:01:00.000Z'] },
    { name: '@every 15m', cron: '@every 15m', tz: 'UTC', from: '2026-01-01T00:00:00Z', want: ['2026-01-01T00:15:00.000Z', '2026-01-01T00:30:00.000Z'] },
    { name: '@every 6h', cron: '@every 6h', tz: 'UTC', from: '2026-01-01T00:00:00Z', want: ['2026-01-01T06:00:00.000Z', '2026-01-01T12:00:00.000Z'] },
    { name: '@hourly', cron: '@hourly', tz: 'UTC', from: '2026-01-01T00:00:00Z', want: ['2026-01-01T01:00:00.000Z', '2026-01-01T02:00:00.000Z'] },
    { name: '@daily in a zone', cron: '@daily', tz: 'Europe/Berlin', from: '2026-01-01T00:00:00Z', want: ['2026-01-01T23:00:00.000Z', '2026-01-02T23:00:00.000Z'] },
  ];
  for (const c of cases) {
    const times = new CronTimes(c.cron, c.tz);
    assert.deepEqual(isoList(times.nextN(at(c.from), c.want.length)), c.want, c.name);
  }
});

test('next is strictly after, previous strictly before', () => {
  const times = new CronTimes('* * * * *', 'UTC');
  assert.equal(times.next(at('2026-01-01T00:01:00Z')), at('2026-01-01T00:02:00Z'));
  assert.equal(times.previous(at('2026-01-01T00:01:00Z')), at('2026-01-01T00:00:00Z'));
});

test('bad expressions and zones: 400 naming the field and the fault', () => {
  const cases: [string, string, string][] = [
    ['61 * * * *', 'UTC', 'cron "61 * * * *": minute 61 is out of range 0-59'],
    ['* 24 * * *', 'UTC', 'cron "* 24 * * *": hour 24 is out of range 0-23'],
    ['* * 32 * *', 'UTC', 'cron "* * 32 * *": day of month 32 is out of range 1-31'],
    ['* * * 13 *', 'UTC', 'cron "* * * 13 *": month 13 is out of range 1-12'],
    ['* * * * 8', 'UTC', 'cron "* * * * 8": day of week 8 is out of range 0-7'],
    ['60 * * * * *', 'UTC', 'cron "60 * * * * *": second 60 is out of range 0-59'],
    ['a * * * *', 'UTC', 'cron "a * * * *": minute "a" is not a value, range, list or step (0-59)'],
    ['* * *', 'UTC', 'cron "* * *": five fields (minute hour day month weekday), or six with seconds first, are needed'],
    ['0 0 1 1 * 2030', 'UTC', 'cron "0 0 1 1 * 2030": day of week 2030 is out of range 0-7'],
    ['0 0 30 2 *', 'UTC', 'cron "0 0 30 2 *": it never fires (no date matches it)'],
    ['@every 7s', 'UTC', 'cron "@every 7s": the interval must divide a minute (1s…30s), an hour (1m…30m) or a day (1h…12h, 24h) evenly'],
    ['@fortnightly', 'UTC', 'cron "@fortnightly": unknown nickname; use one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @every <duration>'],
    ['* * * * *', 'Mars/Olympus', 'timezone "Mars/Olympus" is not an IANA time zone name (e.g. UTC, Europe/Berlin, America/New_York)'],
  ];
  for (const [cron, tz, message] of cases) {
    assert.throws(
      () => new CronTimes(cron, tz),
      (err: unknown) => err instanceof BatonError && err.code === 'BAD_REQUEST' && err.message === message,
      `${cron} ${tz}: ${message}`,
    );
  }
});
