import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type OutputStreamName, StreamRuns } from './output-runs.js';

/** Runs as native/spawn.c writes them: [length, kind] each a varint of length * 4 + kind. */
function encode(runs: [number, number][]): Uint8Array {
  const out: number[] = [];
  for (const [length, kind] of runs) {
    let v = length * 4 + kind;
    while (v >= 0x80) {
      out.push((v % 128) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(v);
  }
  return Uint8Array.from(out);
}

function decoded(stream: OutputStreamName, runs: [number, number][], feeds = 1): StreamRuns {
  const r = new StreamRuns(stream);
  const bytes = encode(runs);
  const step = Math.ceil(bytes.length / feeds) || 1;
  for (let i = 0; i < bytes.length; i += step) r.push(bytes.subarray(i, i + step));
  return r;
}

describe('StreamRuns', () => {
  const cases: {
    name: string;
    runs: [number, number][];
    stream: OutputStreamName;
    covered: number;
    bytes: number;
    stopped?: true;
    pieces: [number, number, { offset: number; length: number }[]][];
  }[] = [
    { name: 'no runs', runs: [], stream: 'stderr', covered: 0, bytes: 0, pieces: [[0, 10, []]] },
    { name: 'stdout only, read as stderr', runs: [[100, 0]], stream: 'stderr', covered: 100, bytes: 0, pieces: [[0, 10, []]] },
    { name: 'stdout only', runs: [[100, 0]], stream: 'stdout', covered: 100, bytes: 100, pieces: [[10, 20, [{ offset: 10, length: 10 }]]] },
    {
      name: 'interleaved, stderr',
      runs: [
        [3, 0],
        [4, 1],
        [5, 0],
        [6, 1],
      ],
      stream: 'stderr',
      covered: 18,
      bytes: 10,
      pieces: [
        [
          0,
          10,
          [
            { offset: 3, length: 4 },
            { offset: 12, length: 6 },
          ],
        ],
        [
          2,
          5,
          [
            { offset: 5, length: 2 },
            { offset: 12, length: 1 },
          ],
        ],
        [4, 10, [{ offset: 12, length: 6 }]],
        [10, 20, []],
      ],
    },
    {
      name: 'interleaved, stdout',
      runs: [
        [3, 0],
        [4, 1],
        [5, 0],
      ],
      stream: 'stdout',
      covered: 12,
      bytes: 8,
      pieces: [
        [
          1,
          8,
          [
            { offset: 1, length: 2 },
            { offset: 7, length: 5 },
          ],
        ],
      ],
    },
    {
      name: 'the marker belongs to both streams',
      runs: [
        [5, 1],
        [2, 2],
        [3, 1],
        [1, 0],
      ],
      stream: 'stderr',
      covered: 11,
      bytes: 10,
      pieces: [[0, 10, [{ offset: 0, length: 10 }]]],
    },
    {
      name: 'runs of one stream in a row join',
      runs: [
        [200, 1],
        [300, 1],
      ],
      stream: 'stderr',
      covered: 500,
      bytes: 500,
      pieces: [[100, 450, [{ offset: 100, length: 350 }]]],
    },
    {
      name: 'long runs (multi-byte varints)',
      runs: [
        [2 ** 40, 0],
        [5, 1],
      ],
      stream: 'stderr',
      covered: 2 ** 40 + 5,
      bytes: 5,
      pieces: [[0, 5, [{ offset: 2 ** 40, length: 5 }]]],
    },
    {
      name: 'stopped at the bound: nothing after the stop counts',
      runs: [
        [3, 0],
        [4, 1],
        [0, 3],
        [5, 0],
        [9, 7],
      ],
      stream: 'stdout',
      covered: 7,
      bytes: 3,
      stopped: true,
      pieces: [[0, 10, [{ offset: 0, length: 3 }]]],
    },
  ];
  for (const c of cases) {
    for (const feeds of [1, 3, 100]) {
      it(`${c.name} (fed in ${feeds})`, () => {
        const r = decoded(c.stream, c.runs, feeds);
        assert.equal(r.covered, c.covered);
        assert.equal(r.streamBytes, c.bytes);
        assert.equal(r.stopped, c.stopped ?? false);
        for (const [from, to, want] of c.pieces) assert.deepEqual(r.pieces(from, to), want, `${from}..${to}`);
      });
    }
  }

  it('counts the bytes of a stream before a file offset', () => {
    const r = decoded('stderr', [
      [3, 0],
      [4, 1],
      [5, 0],
      [6, 1],
    ]);
    assert.deepEqual(
      [0, 3, 5, 7, 12, 14, 18, 99].map((o) => r.bytesBefore(o)),
      [0, 0, 2, 4, 4, 6, 10, 10],
    );
  });

  it('refuses a run of an unknown kind', () => {
    assert.throws(() => decoded('stdout', [[1, 3]]), /unknown kind 3/);
  });
});
