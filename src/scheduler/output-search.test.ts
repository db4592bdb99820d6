import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LineSearch, MATCH_TEXT_BYTES, type OutputMatch } from './output-search.js';

/** Feeds `output` in pieces of `size` bytes, as the route does: until the end or more than `limit` are found. */
function run(output: string, text: string, size: number, limit: number): LineSearch {
  const bytes = Buffer.from(output);
  const s = new LineSearch(text, limit);
  for (let at = 0; at < bytes.length && !s.more; at += size) s.push(bytes.subarray(at, at + size));
  if (!s.more) s.end();
  return s;
}

const search = (output: string, text: string, size: number, limit = 100): OutputMatch[] => run(output, text, size, limit).matches;

describe('LineSearch', () => {
  const output = 'alpha\nbeta gamma\nalpha alpha\n\ndelta alpha';
  const cases: [string, string, number, OutputMatch[]][] = [
    [
      'every matching line once, with its first byte and number',
      'alpha',
      1000,
      [
        { offset: 0, line: 1, text: 'alpha' },
        { offset: 17, line: 3, text: 'alpha alpha' },
        { offset: 30, line: 5, text: 'delta alpha' },
      ],
    ],
    [
      'the same, fed a byte at a time',
      'alpha',
      1,
      [
        { offset: 0, line: 1, text: 'alpha' },
        { offset: 17, line: 3, text: 'alpha alpha' },
        { offset: 30, line: 5, text: 'delta alpha' },
      ],
    ],
    ['fed in pieces that cut words', 'gamma', 3, [{ offset: 6, line: 2, text: 'beta gamma' }]],
    ['case-sensitive', 'Alpha', 1000, []],
    ['a text with spaces', 'a g', 7, [{ offset: 6, line: 2, text: 'beta gamma' }]],
    ['nothing', 'zeta', 4, []],
  ];
  for (const [name, text, size, expected] of cases) it(name, () => assert.deepEqual(search(output, text, size), expected));

  // Three lines hold 'alpha', the last one without a final newline.
  const limits: [string, number, number, number[], boolean][] = [
    ['fewer than match: more', 2, 1000, [1, 3], true],
    ['fewer than match, fed a byte at a time: more', 2, 1, [1, 3], true],
    ['one: more', 1, 5, [1], true],
    ['exactly as many as match: not more', 3, 1000, [1, 3, 5], false],
    ['exactly as many, fed a byte at a time: not more', 3, 1, [1, 3, 5], false],
    ['more than match: not more', 4, 7, [1, 3, 5], false],
  ];
  for (const [name, limit, size, lines, more] of limits) {
    it(`limit ${limit}: ${name}`, () => {
      const s = run(output, 'alpha', size, limit);
      assert.deepEqual(
        s.matches.map((m) => m.line),
        lines,
      );
      assert.equal(s.more, more);
    });
  }

  it('counts lines and bytes past multi-byte characters', () => {
    assert.deepEqual(search('héllo\nwörld\nfind me\n', 'find', 2), [{ offset: 14, line: 3, text: 'find me' }]);
  });

  it('clips a long line', () => {
    const [match] = search(`${'x'.repeat(5000)}needle\n`, 'needle', 999);
    assert.equal(match?.offset, 0);
    assert.equal(match?.text.length, MATCH_TEXT_BYTES);
  });

  it('matches in a line longer than the carry bound (it is searched in parts)', () => {
    const long = `${'y'.repeat(3 * 1024 * 1024)}needle`;
    assert.equal(search(`start\n${long}\n`, 'needle', 64 * 1024).length, 1);
  });
});
