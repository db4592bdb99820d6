import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agreedVersion, PROTOCOL_VERSION } from './messages.js';

test('agreedVersion: the newest version both sides speak, or none', () => {
  const cases: Array<[string, { version: number; upTo?: number }, number, number | undefined]> = [
    ['a worker of this release with a supervisor of this release', { version: 1, upTo: 3 }, 3, 3],
    ['a worker of this release with a version-2 supervisor (stdin, no split output)', { version: 1, upTo: 3 }, 2, 2],
    ['a worker of this release with a version-1 supervisor', { version: 1, upTo: 3 }, 1, 1],
    ['a version-2 worker with this supervisor', { version: 1, upTo: 2 }, 3, 2],
    ['a version-1 worker (no upTo) with this supervisor', { version: 1 }, 3, 1],
    ['a future worker that still speaks 3', { version: 2, upTo: 5 }, 3, 3],
    ['a future worker that no longer speaks 3', { version: 4, upTo: 5 }, 3, undefined],
    ['a hello below the oldest version', { version: 0 }, 3, undefined],
    ['an upTo below the version it claims', { version: 2, upTo: 1 }, 3, undefined],
    ['a version that is not an integer', { version: 1.5, upTo: 3 }, 3, undefined],
  ];
  for (const [name, hello, own, expected] of cases) assert.equal(agreedVersion(hello, own), expected, name);
});

test("agreedVersion: this release's worker and supervisor agree on this release's version", () => {
  assert.equal(agreedVersion({ version: 1, upTo: PROTOCOL_VERSION }), PROTOCOL_VERSION);
  assert.equal(PROTOCOL_VERSION, 3);
});
