import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { asBuffer } from './bytes.js';

describe('asBuffer', () => {
  const memory = new ArrayBuffer(16);
  new Uint8Array(memory).set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
  const cases: [string, Uint8Array, number[]][] = [
    ['a whole Uint8Array', new Uint8Array(memory), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]],
    ['a view at an offset, of a length', new Uint8Array(memory, 5, 3), [5, 6, 7]],
    ['an empty view', new Uint8Array(memory, 16, 0), []],
    ['a Buffer', Buffer.from(memory, 2, 2), [2, 3]],
  ];
  for (const [name, bytes, want] of cases) {
    it(`${name}: the same bytes, in the same memory`, () => {
      const buffer = asBuffer(bytes);
      assert.ok(Buffer.isBuffer(buffer));
      assert.deepEqual([...buffer], want);
      assert.equal(buffer.buffer, bytes.buffer, 'not copied');
      assert.equal(buffer.byteOffset, bytes.byteOffset);
    });
  }
});
