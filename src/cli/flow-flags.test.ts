import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectAfter, parseConcurrency } from './flow-flags.js';

const good: [string, { key: string; limit: number }][] = [
  ['deploy-prod', { key: 'deploy-prod', limit: 1 }],
  ['db=3', { key: 'db', limit: 3 }],
  ['a=b=2', { key: 'a=b', limit: 2 }],
];
for (const [text, want] of good) test(`--concurrency ${text}`, () => assert.deepEqual(parseConcurrency(text), want));

for (const text of ['', '=2', 'k=0', 'k=', 'k=-1', 'k=1.5', 'k=x', 'k=1000000']) {
  test(`--concurrency "${text}" is refused`, () => assert.throws(() => parseConcurrency(text)));
}

test('--after collects ids, repeated or comma-separated', () => {
  assert.deepEqual(collectAfter('c', collectAfter('a,b', [])), ['a', 'b', 'c']);
  assert.throws(() => collectAfter('a,,b', []));
});
