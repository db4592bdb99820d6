import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatDuration, MAX_DURATION_MS, parseDuration } from './duration.js';

describe('parseDuration', () => {
  it('reads a bare number as seconds and a unit as that unit, in milliseconds', () => {
    const cases: [string, number][] = [
      ['30', 30_000],
      ['0', 0],
      ['1.5', 1_500],
      ['.25', 250],
      [' 2 ', 2_000],
      ['500ms', 500],
      ['30s', 30_000],
      ['0.5s', 500],
      ['5m', 300_000],
      ['2h', 7_200_000],
      ['1d', 86_400_000],
      ['1m30s', 90_000],
      ['1h30m', 5_400_000],
      ['1d2h3m4s5ms', 93_784_005],
      ['1.5ms', 2],
      ['24d', 2_073_600_000],
      [String(MAX_DURATION_MS / 1000), MAX_DURATION_MS],
    ];
    for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
  });

  it('refuses what is not a duration, saying why', () => {
    const cases: [string, RegExp][] = [
      ['', /^empty; use a number of seconds or a unit, e.g. 30s, 5m, 500ms$/],
      ['   ', /^empty;/],
      ['5 minutes', /^not a duration; use a number of seconds or a unit, e.g. 30s, 5m, 500ms$/],
      ['1m 30s', /^not a duration;/],
      ['30sec', /^not a duration;/],
      ['5M', /^not a duration;/],
      ['ms', /^not a duration;/],
      ['s30', /^not a duration;/],
      ['1.2.3s', /^not a duration;/],
      ['NaN', /^not a duration;/],
      ['Infinity', /^not a duration;/],
      ['1e3', /^not a duration;/],
      ['0x10', /^not a duration;/],
      ['+5s', /^not a duration;/],
      ['-1', /^a duration cannot be negative$/],
      ['-5s', /^a duration cannot be negative$/],
      ['30s1m', /^units go from largest to smallest, each once/],
      ['1s1s', /^units go from largest to smallest, each once/],
      ['25d', /^too long: at most 2147483647 ms \(about 24\.8 days\)$/],
      ['9'.repeat(400), /^too long:/],
      ['2147483.648', /^too long:/],
    ];
    for (const [text, message] of cases) assert.throws(() => parseDuration(text), { message }, JSON.stringify(text));
  });

  it('refuses 0 where a duration must be positive', () => {
    for (const text of ['0', '0s', '0ms', '0.4ms']) assert.throws(() => parseDuration(text, { positive: true }), { message: /^must be more than 0$/ }, text);
    assert.equal(parseDuration('1ms', { positive: true }), 1);
  });

  it('reads an age (a retention) past what a timer allows, up to about 100 years', () => {
    const cases: [string, number | RegExp][] = [
      ['90d', 90 * 86_400_000],
      ['0', 0],
      ['36500d', 36_500 * 86_400_000],
      ['36501d', /^too long:/],
      ['-1d', /^a duration cannot be negative$/],
    ];
    for (const [text, want] of cases) {
      if (typeof want === 'number') assert.equal(parseDuration(text, { age: true }), want, text);
      else assert.throws(() => parseDuration(text, { age: true }), { message: want }, text);
    }
  });

  it('reads back what formatDuration writes', () => {
    const cases: [number, string][] = [
      [0, '0s'],
      [500, '500ms'],
      [30_000, '30s'],
      [90_000, '1m30s'],
      [93_784_005, '1d2h3m4s5ms'],
    ];
    for (const [ms, text] of cases) assert.equal(formatDuration(ms), text, String(ms));
    fc.assert(fc.property(fc.integer({ min: 0, max: MAX_DURATION_MS }), (ms) => parseDuration(formatDuration(ms)) === ms));
  });
});
