import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StartJobRequest } from '../gen/baton/v1/worker.js';
import { chunksOf, startRequestBound, tooLargeToStart } from './start-chunks.js';

// [name, item sizes, max bytes, max count, chunks of sizes]
const table: [string, number[], number, number, number[][]][] = [
  ['nothing', [], 10, 3, []],
  ['all fit', [1, 2, 3], 10, 5, [[1, 2, 3]]],
  ['cut by count', [1, 1, 1, 1, 1], 100, 2, [[1, 1], [1, 1], [1]]],
  [
    'cut by bytes',
    [4, 4, 4, 1],
    8,
    10,
    [
      [4, 4],
      [4, 1],
    ],
  ],
  ['exactly the bytes', [5, 5], 10, 10, [[5, 5]]],
  ['one too big goes alone', [2, 50, 2], 10, 10, [[2], [50], [2]]],
  ['order kept', [3, 9, 1, 1], 10, 10, [[3], [9, 1], [1]]],
];

for (const [name, sizes, maxBytes, maxCount, want] of table) {
  test(`start chunks: ${name}`, () => {
    assert.deepEqual(
      chunksOf(sizes, (n) => n, maxBytes, maxCount),
      want,
    );
  });
}

// The bound is never below the real encoded size, with wide characters, args and env.
const requests: [string, StartJobRequest][] = [
  ['bare', StartJobRequest.fromPartial({ jobId: '0193a000-0000-7000-8000-000000000001', command: 'true' })],
  ['seed form', StartJobRequest.fromPartial({ jobId: 'j.2', command: 'bash', path: 'count.sh', cwd: 'sub', timeoutMs: 2 ** 40 })],
  ['args and env', StartJobRequest.fromPartial({ jobId: 'j', command: 'env', args: ['a', 'b'.repeat(300)], env: { K: 'v', LONG: 'x'.repeat(5000) } })],
  ['wide characters', StartJobRequest.fromPartial({ jobId: 'j', command: 'echo', args: ['héllo wörld ✓ 日本語 🎉'.repeat(50)], env: { ÜBER: '€'.repeat(100) } })],
  [
    'sandbox',
    StartJobRequest.fromPartial({
      jobId: 'j',
      command: 'true',
      resources: { memoryBytes: 2 ** 40, cpu: 1.5, pids: 100, readBps: 2 ** 30, writeBps: 2 ** 30, readIops: 1000, writeIops: 1000 },
      network: 'none',
      isolate: true,
    }),
  ],
];
for (const [name, request] of requests) {
  test(`start size bound: ${name}`, () => {
    const encoded = StartJobRequest.encode(request).finish().length;
    assert.ok(startRequestBound(request) >= encoded, `${startRequestBound(request)} < ${encoded}`);
  });
}

// [name, request, refused with (a pattern) or undefined]
const sizes: [string, StartJobRequest, RegExp | undefined][] = [
  ['an ordinary start', StartJobRequest.fromPartial({ jobId: 'j', command: 'bash', path: 'count.sh' }), undefined],
  ['under the limit though its bound is over', StartJobRequest.fromPartial({ jobId: 'j', command: 'env', env: { DATA: 'x'.repeat(6 * 1024 * 1024) } }), undefined],
  [
    'over the limit',
    StartJobRequest.fromPartial({ jobId: 'j', command: 'env', env: { DATA: 'x'.repeat(17 * 1024 * 1024) } }),
    /^the job is too large to send to a worker: 17\.0 MiB .* at most 16\.0 MiB$/,
  ],
  ['over it in arguments', StartJobRequest.fromPartial({ jobId: 'j', command: 'echo', args: Array(20).fill('y'.repeat(1024 * 1024)) }), /too large/],
];
for (const [name, request, want] of sizes) {
  test(`too large to start: ${name}`, () => {
    const got = tooLargeToStart(request);
    if (want === undefined) assert.equal(got, undefined);
    else assert.match(got ?? '', want);
  });
}
