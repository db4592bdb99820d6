import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderTable, truncate, visibleWidth } from './table.js';

describe('renderTable', () => {
  const cases: { name: string; rows: string[][]; expected: string[] }[] = [
    { name: 'empty', rows: [], expected: [] },
    { name: 'header only', rows: [['ID', 'STATE']], expected: ['ID   STATE'] },
    {
      name: 'columns as wide as their widest cell',
      rows: [
        ['ID', 'STATE', 'CREATED'],
        ['a', 'running', '3s ago'],
        ['bbbbbb', 'ok', '1h ago'],
      ],
      expected: ['ID       STATE     CREATED', 'a        running   3s ago', 'bbbbbb   ok        1h ago'],
    },
    {
      name: 'colour codes take no width',
      rows: [
        ['STATE', 'X'],
        ['\u001b[32mup\u001b[39m', 'y'],
      ],
      expected: ['STATE   X', '\u001b[32mup\u001b[39m      y'],
    },
    {
      name: 'no trailing spaces when the last cell is empty',
      rows: [
        ['A', 'B'],
        ['x', ''],
      ],
      expected: ['A   B', 'x'],
    },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(renderTable(c.rows), c.expected));
});

describe('truncate and visibleWidth', () => {
  for (const [text, max, expected] of [
    ['hello', 10, 'hello'],
    ['hello', 5, 'hello'],
    ['hello world', 6, 'hello…'],
    ['héllo wörld', 4, 'hél…'],
    ['ab', 1, 'a'],
  ] as const) {
    it(`truncate(${text}, ${max}) → ${expected}`, () => assert.equal(truncate(text, max), expected));
  }
  for (const [text, width] of [
    ['abc', 3],
    ['\u001b[1;31mabc\u001b[0m', 3],
    ['é…', 2],
  ] as const) {
    it(`visibleWidth(${JSON.stringify(text)}) → ${width}`, () => assert.equal(visibleWidth(text), width));
  }
});
