import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { findTailStart, scanTail, TAIL_WINDOW_BYTES, type TailScan } from './output-tail.js';

const b = (s: string): Buffer => Buffer.from(s);

describe('scanTail', () => {
  const cases: [string, Buffer, number, number, TailScan][] = [
    ['the newline before the last line', b('a\nb\nc'), 0, 1, { start: 4 }],
    ['two newlines back', b('a\nb\nc'), 0, 2, { start: 2 }],
    ['more than there are, at the output start: from it', b('a\nb\nc\n'), 0, 10, { start: 0 }],
    ['a window that does not begin the output', b('x\nb\nc\n'), 100, 3, { start: 102 }],
    ['too few newlines in a later window: how many still needed', b('b\nc\n'), 100, 5, { needed: 3 }],
    ['no newline in a later window', b('bbbb'), 100, 2, { needed: 2 }],
    ['empty output', b(''), 0, 3, { start: 0 }],
    ['empty lines count', b('a\n\n\n'), 0, 3, { start: 2 }],
  ];
  for (const [name, bytes, base, needed, want] of cases) it(name, () => assert.deepEqual(scanTail(bytes, base, needed), want));
});

describe('findTailStart', () => {
  const W = TAIL_WINDOW_BYTES;
  const line = (n: number, c = 'y'): string => `${c.repeat(n - 1)}\n`;
  const cases: [string, string, number][] = [
    ['last line of three', 'a\nb\nc\n', 1],
    ['no final newline', 'a\nb\nc', 1],
    ['more lines than there are', 'a\nb\nc\n', 10],
    ['empty output', '', 3],
    ['one window exactly, final newline', line(W), 1],
    ['a newline just at a window boundary', `${line(1000, 'x')}${line(W)}${line(W)}`, 2],
    ['a newline just past a window boundary', `${line(1000, 'x')}${line(W + 1)}${line(W - 1)}`, 2],
    ['lines longer than a window', `${line(10)}${line(3 * W + 7)}${line(2 * W)}${'z'.repeat(5)}`, 3],
    ['many short lines over many windows', Array.from({ length: 60_000 }, (_, i) => `${i}\n`).join(''), 50_000],
  ];
  // What the last `lines` lines are, from the whole output at once.
  const expected = (s: string, lines: number): number => {
    const parts = s.split('\n');
    if (parts.at(-1) === '') parts.pop();
    return Buffer.byteLength(
      parts
        .slice(0, Math.max(0, parts.length - lines))
        .map((p) => `${p}\n`)
        .join(''),
    );
  };
  for (const [name, text, lines] of cases) {
    it(`${name}: reads back in windows of at most ${W} bytes that never overlap`, async () => {
      const output = b(text);
      const reads: [number, number][] = [];
      const start = await findTailStart(output.length, lines, (offset, length) => {
        reads.push([offset, length]);
        return Promise.resolve(output.subarray(offset, offset + length));
      });
      assert.equal(start, expected(text, lines));
      let end = output.length;
      for (const [offset, length] of reads) {
        assert.ok(length <= W, `read ${length} bytes at once`);
        assert.equal(offset + length, end, 'each read ends where the one after it began');
        end = offset;
      }
    });
  }
});
