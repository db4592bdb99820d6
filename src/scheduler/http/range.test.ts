import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatonError } from '../../common/errors.js';
import { type ByteRange, contentRange, parseRange, pickRange, UnsatisfiableRange } from './range.js';

describe('parseRange', () => {
  const cases: [string | undefined, ByteRange | undefined][] = [
    [undefined, undefined],
    ['bytes=0-', { first: 0 }],
    ['bytes=100-', { first: 100 }],
    ['bytes=0-0', { first: 0, last: 0 }],
    ['bytes=10-19', { first: 10, last: 19 }],
    ['bytes=-500', { suffix: 500 }],
    ['bytes=-0', { suffix: 0 }],
    ['BYTES=5-', { first: 5 }],
    ['bytes= 5-9 ', { first: 5, last: 9 }],
    ['bytes=5-9,', { first: 5, last: 9 }],
    // Another unit is ignored (RFC 9110 §14.2): the whole output.
    ['lines=1-5', undefined],
    ['items=garbage', undefined],
  ];
  for (const [header, expected] of cases) it(`${header} → ${JSON.stringify(expected)}`, () => assert.deepEqual(parseRange(header), expected));

  const refused: [string, RegExp][] = [
    ['bytes', /unit=ranges/],
    ['bytes=', /names no range/],
    ['bytes=,', /names no range/],
    ['bytes=0-1,5-6', /several ranges/],
    ['bytes=-', /bytes=first-last/],
    ['bytes=5', /bytes=first-last/],
    ['bytes=a-b', /bytes=first-last/],
    ['bytes=1.5-2', /bytes=first-last/],
    ['bytes=-1-2', /bytes=first-last/],
    ['bytes=+1-2', /bytes=first-last/],
    ['bytes=1234567890123456-', /bytes=first-last/],
    ['bytes=9-5', /ends before it starts/],
  ];
  for (const [header, message] of refused) {
    it(`${header} → 400`, () =>
      assert.throws(
        () => parseRange(header),
        (err: unknown) => err instanceof BatonError && err.code === 'BAD_REQUEST' && message.test(err.message),
      ));
  }
});

describe('pickRange', () => {
  const cases: [ByteRange, number, string][] = [
    [{ first: 0 }, 100, 'bytes 0-99/100'],
    [{ first: 99 }, 100, 'bytes 99-99/100'],
    [{ first: 10, last: 19 }, 100, 'bytes 10-19/100'],
    [{ first: 10, last: 1000 }, 100, 'bytes 10-99/100'],
    [{ suffix: 30 }, 100, 'bytes 70-99/100'],
    [{ suffix: 1000 }, 100, 'bytes 0-99/100'],
  ];
  for (const [range, size, expected] of cases) it(`${JSON.stringify(range)} of ${size} → ${expected}`, () => assert.equal(contentRange(pickRange(range, size)), expected));

  const unsatisfiable: [ByteRange, number][] = [
    [{ first: 100 }, 100],
    [{ first: 0 }, 0],
    [{ first: 5, last: 9 }, 3],
    [{ suffix: 0 }, 100],
    [{ suffix: 10 }, 0],
  ];
  for (const [range, size] of unsatisfiable) {
    it(`${JSON.stringify(range)} of ${size} → 416`, () =>
      assert.throws(
        () => pickRange(range, size),
        (err: unknown) => err instanceof UnsatisfiableRange && err.size === size && err.httpStatus === 416,
      ));
  }
});
