import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agreedVersion } from './messages.js';

test('agreedVersion: the newest version both sides speak, or none', () => {
  const cases: Array<[string, { version: number; upTo?: number }, number, number | undefined]> = [
    ['a worker of this release with a supervisor of this release', { version: 1, upTo: 2 }, 2, 2],
    ['a worker of this release with a version-1 supervisor', { version: 1, upTo: 2 }, 1, 1],
    ['a version-1 worker (no upTo) with this supervisor', { version: 1 }, 2, 1],
    ['a future worker that still speaks 2', { version: 2, upTo: 5 }, 2, 2],
    ['a future worker that no longer speaks 2', { version: 3, upTo: 5 }, 2, undefined],
    ['a hello below the oldest version', { version: 0 }, 2, undefined],
    ['an upTo below the version it claims', { version: 2, upTo: 1 }, 2, undefined],
    ['a version that is not an integer', { version: 1.5, upTo: 2 }, 2, undefined],
  ];
  for (const [name, hello, own, expected] of cases) assert.equal(agreedVersion(hello, own), expected, name);
});
