import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { findTailStart, tailStart } from './output-tail.js';

const b = (s: string): Buffer => Buffer.from(s);

describe('tailStart', () => {
  const cases: [string, Buffer, number, number, number | undefined][] = [
    ['last line of three', b('a\nb\nc\n'), 0, 1, 4],
    ['two of three', b('a\nb\nc\n'), 0, 2, 2],
    ['more than there are: from the start', b('a\nb\nc\n'), 0, 10, 0],
    ['no final newline', b('a\nb\nc'), 0, 1, 4],
    ['a window that does not begin the output', b('x\nb\nc\n'), 100, 2, 102],
    ['too few line starts in a later window', b('b\nc\n'), 100, 5, undefined],
    ['empty output', b(''), 0, 3, 0],
    ['empty lines count', b('a\n\n\n'), 0, 2, 2],
  ];
  for (const [name, bytes, base, lines, want] of cases) it(name, () => assert.equal(tailStart(bytes, base, lines), want));
});

describe('findTailStart', () => {
  it('reads further back until it finds enough lines', async () => {
    const output = b(`${'x'.repeat(200_000)}\n${Array.from({ length: 10 }, (_, i) => `${'y'.repeat(50_000)}${i}`).join('\n')}\n`);
    const reads: number[] = [];
    const read = (offset: number, length: number): Promise<Uint8Array> => {
      reads.push(offset);
      return Promise.resolve(output.subarray(offset, offset + length));
    };
    const start = await findTailStart(output.length, 3, read);
    assert.equal(output.subarray(start).toString().split('\n').filter(Boolean).length, 3);
    assert.ok(output.subarray(start).toString().startsWith('y'));
    assert.ok(reads.length > 1, 'read further back');
    assert.equal(await findTailStart(output.length, 1000, read), 0);
  });
});
