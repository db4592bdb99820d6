import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAnsi, styleClasses, type Run } from './ansi.js';

test('parseAnsi', () => {
  const cases: Array<[string, string, Run[]]> = [
    ['plain text', 'hello\n', [{ text: 'hello\n', style: {} }]],
    [
      'red then reset',
      '\x1b[31mred\x1b[0m plain',
      [
        { text: 'red', style: { fg: 'red' } },
        { text: ' plain', style: {} },
      ],
    ],
    ['bold green, combined', '\x1b[1;32mok\x1b[m', [{ text: 'ok', style: { bold: true, fg: 'green' } }]],
    ['bright and background', '\x1b[94;41mx', [{ text: 'x', style: { fg: 'bright-blue', bg: 'red' } }]],
    ['256 colours', '\x1b[38;5;208mo', [{ text: 'o', style: { fg: '256-208' } }]],
    ['true colour', '\x1b[38;2;1;2;3mt', [{ text: 't', style: { fg: 'rgb(1,2,3)' } }]],
    ['cursor moves are dropped', 'a\x1b[2Kb\x1b[1Gc', [{ text: 'abc', style: {} }]],
    ['an OSC title is dropped', '\x1b]0;title\x07after', [{ text: 'after', style: {} }]],
    [
      '22 ends bold',
      '\x1b[1mB\x1b[22mn',
      [
        { text: 'B', style: { bold: true } },
        { text: 'n', style: {} },
      ],
    ],
  ];
  for (const [name, input, expected] of cases) assert.deepEqual(parseAnsi(input).runs, expected, name);
});

test('parseAnsi carries the style from one chunk to the next', () => {
  const first = parseAnsi('\x1b[33myel');
  const second = parseAnsi('low\x1b[0m', first.style);
  assert.deepEqual(second.runs, [{ text: 'low', style: { fg: 'yellow' } }]);
  assert.deepEqual(second.style, {});
});

test('styleClasses', () => {
  assert.equal(styleClasses({ fg: 'red', bold: true }), 'ansi-fg-red ansi-bold');
  assert.equal(styleClasses({ fg: 'rgb(1,2,3)' }), '');
  assert.equal(styleClasses({}), '');
});
