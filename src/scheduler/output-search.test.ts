import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { LineSearch, MATCH_TEXT_BYTES, MAX_LINE_BYTES, type OutputMatch } from './output-search.js';

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

  describe('a match across a cut: of the pieces read, or of a line longer than MAX_LINE_BYTES', () => {
    const MiB = 1024 * 1024;
    const head = 'h'.repeat(MATCH_TEXT_BYTES);
    /** A line of `length` bytes (newline not counted) starting with `head`, holding `needle` at each of `at`. */
    const line = (length: number, ...at: number[]): string => {
      const bytes = Buffer.alloc(length, 'y');
      bytes.write(head);
      for (const a of at) bytes.write('needle', a);
      return bytes.toString();
    };
    // The cut of a line that starts the output falls at MAX_LINE_BYTES when the pieces divide it.
    const first = 'start\n';
    const cases: [string, string, number, OutputMatch[]][] = [
      ['a short line across a 1 MiB piece', `${'x'.repeat(MiB - 3)}\nab needle\n`, MiB, [{ offset: MiB - 2, line: 2, text: 'ab needle' }]],
      [
        'a long line, across its first cut',
        `${line(3 * MiB, MAX_LINE_BYTES - 3)}\nend needle`,
        MiB,
        [
          { offset: 0, line: 1, text: head },
          { offset: 3 * MiB + 1, line: 2, text: 'end needle' },
        ],
      ],
      ['a long line, across its first cut, fed in pieces of 64 KiB', line(3 * MiB, MAX_LINE_BYTES - 3), 64 * 1024, [{ offset: 0, line: 1, text: head }]],
      ['a long line, in its third part only', `${first}${line(3 * MiB, 2 * MiB + 100)}\n`, MiB, [{ offset: first.length, line: 2, text: head }]],
      ['a long line that holds it in two parts: given once', `${first}${line(3 * MiB, 1000, 2 * MiB + 100)}\n`, MiB, [{ offset: first.length, line: 2, text: head }]],
      ['a long line that ends the output, holding it in its last bytes', `${first}${line(2 * MiB, 2 * MiB - 6)}`, 300 * 1024, [{ offset: first.length, line: 2, text: head }]],
      ['a long line that does not hold it', `${first}${line(3 * MiB)}\nneedle`, MiB, [{ offset: first.length + 3 * MiB + 1, line: 3, text: 'needle' }]],
      // Joined once, not once per piece: 32,768 pieces of a nearly 1 MiB line.
      [
        'a line just under MAX_LINE_BYTES, fed 32 bytes at a time',
        `${first}${line(MAX_LINE_BYTES - 64, MAX_LINE_BYTES - 80)}\n`,
        32,
        [{ offset: first.length, line: 2, text: head }],
      ],
    ];
    for (const [name, output, size, expected] of cases) it(name, () => assert.deepEqual(search(output, 'needle', size), expected));
    it('a long line fed in small pieces is joined once, not once per piece', () => {
      const concat = mock.method(Buffer, 'concat');
      try {
        search(`${first}${line(MAX_LINE_BYTES - 64, MAX_LINE_BYTES - 80)}\n`, 'needle', 32);
        assert.ok(concat.mock.callCount() <= 2, `Buffer.concat called ${concat.mock.callCount()} times`);
      } finally {
        concat.mock.restore();
      }
    });
  });
});
