import { test } from 'node:test';
import assert from 'node:assert/strict';
import { processStartTime } from './proc-stat.js';

const tail = 'S 1 123 123 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000000 100 18446744073709551615';

test('processStartTime', () => {
  const cases: Array<[string, string, string | undefined]> = [
    ['a plain command', `123 (sleep) ${tail}`, '987654'],
    ['a command with spaces and parentheses', `123 (my (odd) cmd) ${tail}`, '987654'],
    ['a trailing newline', `123 (bash) ${tail}\n`, '987654'],
    ['too few fields', '123 (bash) S 1 2', undefined],
    ['not a stat line', 'nothing here', undefined],
    ['empty', '', undefined],
  ];
  for (const [name, text, expected] of cases) assert.equal(processStartTime(text), expected, name);
});
