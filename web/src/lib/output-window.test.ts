import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromLineStart, upToLineEnd, type Part } from './output-window.js';

const part = (text: string, start: number, size: number): Part => ({ bytes: new TextEncoder().encode(text), start, size });
const shown = (p: Part): [string, number] => [new TextDecoder().decode(p.bytes), p.start];

test('fromLineStart', () => {
  const cases: Array<[string, Part, [string, number]]> = [
    ['the output from its first byte: as is', part('ab\ncd\n', 0, 6), ['ab\ncd\n', 0]],
    ['mid-line: from the next line', part('b\ncd\n', 1, 6), ['cd\n', 3]],
    ['at a line start it still cannot know: from the next line', part('cd\n', 3, 6), ['', 6]],
    ['no line end: as is', part('bcd', 1, 9), ['bcd', 1]],
    ['a multi-byte character cut: dropped with its line', { bytes: Uint8Array.of(0x80, 0x62, 0x0a, 0x78, 0x0a), start: 10, size: 20 }, ['x\n', 13]],
  ];
  for (const [name, given, expected] of cases) assert.deepEqual(shown(fromLineStart(given)), expected, name);
});

test('upToLineEnd', () => {
  const cases: Array<[string, Part, [string, number]]> = [
    ['to the output end: as is', part('ab\ncd', 0, 5), ['ab\ncd', 0]],
    ['before the end: up to the last whole line', part('ab\ncd', 0, 9), ['ab\n', 0]],
    ['no line end: as is', part('abcd', 4, 20), ['abcd', 4]],
  ];
  for (const [name, given, expected] of cases) assert.deepEqual(shown(upToLineEnd(given)), expected, name);
});
