import { test } from 'node:test';
import assert from 'node:assert/strict';
import { confineLexically, isInside } from './paths.js';

test('isInside', () => {
  const cases: Array<[root: string, candidate: string, expected: boolean]> = [
    ['/jobs', '/jobs', true],
    ['/jobs', '/jobs/a.sh', true],
    ['/jobs', '/jobs/x/y/z.sh', true],
    ['/jobs/', '/jobs/a.sh', true],
    ['/jobs', '/jobs-evil/a.sh', false],
    ['/jobs', '/etc/shadow', false],
    ['/jobs', '/', false],
    ['/jobs', '/jobs/../etc/shadow', false],
  ];
  for (const [root, candidate, expected] of cases) {
    assert.equal(isInside(root, candidate), expected, `isInside(${root}, ${candidate})`);
  }
});

test('confineLexically', () => {
  const cases: Array<[relative: string, expected: ReturnType<typeof confineLexically>]> = [
    ['count.sh', { ok: true, absolute: '/jobs/count.sh' }],
    ['scripts/nested/count.sh', { ok: true, absolute: '/jobs/scripts/nested/count.sh' }],
    ['a/../b.sh', { ok: true, absolute: '/jobs/b.sh' }],
    ['.', { ok: true, absolute: '/jobs' }],
    ['../../etc/shadow', { ok: false, reason: 'outside' }],
    ['a/../../x', { ok: false, reason: 'outside' }],
    ['..', { ok: false, reason: 'outside' }],
    ['/etc/shadow', { ok: false, reason: 'absolute' }],
    ['', { ok: false, reason: 'empty' }],
    ['a\0b', { ok: false, reason: 'invalid' }],
  ];
  for (const [relative, expected] of cases) {
    assert.deepEqual(confineLexically('/jobs', relative), expected, JSON.stringify(relative));
  }
});
