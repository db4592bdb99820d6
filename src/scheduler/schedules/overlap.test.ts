import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideOverlap, type OverlapDecision, type OverlapPolicy } from './overlap.js';

test('every overlap policy, as a function of (previous live, one buffered)', () => {
  const table: [OverlapPolicy, boolean, boolean, OverlapDecision][] = [
    ['skip', false, false, 'run'],
    ['skip', true, false, 'skip'],
    ['skip', true, true, 'skip'],
    ['allow', false, false, 'run'],
    ['allow', true, false, 'run'],
    ['allow', true, true, 'run'],
    ['buffer_one', false, false, 'run'],
    ['buffer_one', true, false, 'buffer'],
    ['buffer_one', true, true, 'skip'],
    ['cancel_previous', false, false, 'run'],
    ['cancel_previous', true, false, 'cancel_previous_and_run'],
    ['cancel_previous', true, true, 'cancel_previous_and_run'],
  ];
  for (const [policy, live, buffered, want] of table) assert.equal(decideOverlap(policy, live, buffered), want, `${policy} live=${live} buffered=${buffered}`);
});
