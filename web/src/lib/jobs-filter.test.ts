import { test } from 'node:test';
import assert from 'node:assert/strict';
import { filterFromParams, filterToParams, jobMatcher, narrowsHere } from './jobs-filter.js';

test('filterFromParams keeps known states, drops others, and round-trips', () => {
  assert.deepEqual(filterFromParams({}), { state: '', worker: '', label: '', q: '', cursor: '' });
  assert.equal(filterFromParams({ state: 'timed_out' }).state, 'timed_out');
  assert.equal(filterFromParams({ state: 'bogus' }).state, '');
  const f = filterFromParams({ state: 'failed', worker: 'w-1', label: 'zone=eu', q: 'deploy', cursor: 'abc' });
  assert.deepEqual(filterFromParams(filterToParams(f)), f);
});

test('jobMatcher: labels all present, command words anywhere, case-insensitive', () => {
  const job = { command: 'bash', path: 'deploy.sh', args: ['--fast'], labels: { zone: 'eu', gpu: 'true' } };
  const cases: Array<[string, string, boolean]> = [
    ['', '', true],
    ['zone=eu', '', true],
    ['zone=eu, gpu=true', '', true],
    ['zone=us', '', false],
    ['tier=1', '', false],
    ['', 'DEPLOY', true],
    ['', 'deploy.sh --fast', true],
    ['', 'build', false],
    ['zone=eu', 'build', false],
  ];
  for (const [label, q, expected] of cases) {
    const f = filterFromParams({ label, q });
    assert.equal(jobMatcher(f)(job), expected, `${label} / ${q}`);
    assert.equal(narrowsHere(f), label !== '' || q !== '');
  }
  assert.throws(() => jobMatcher(filterFromParams({ label: 'zone' })), /label "zone" is not key=value/);
});
