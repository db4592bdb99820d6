import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBytes } from './options.js';

describe('parseBytes', () => {
  const sizes: [string, number][] = [
    ['0', 0],
    ['512', 512],
    ['64k', 64 * 1024],
    ['1MiB', 1024 ** 2],
    ['2 GB', 2 * 1024 ** 3],
    ['9007199254740991', Number.MAX_SAFE_INTEGER],
  ];
  for (const [text, bytes] of sizes) it(`"${text}" is ${bytes} bytes`, () => assert.equal(parseBytes(text), bytes));

  const refused: [string, RegExp][] = [
    ['', /not a size/],
    ['-1', /not a size/],
    ['1.5M', /not a size/],
    ['12 parsecs', /not a size/],
    ['9007199254740992', /too large a size/],
    ['99999999999G', /too large a size/],
  ];
  for (const [text, error] of refused) it(`"${text}" is refused`, () => assert.throws(() => parseBytes(text), error));
});
