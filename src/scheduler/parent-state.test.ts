import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JobStateName } from './job-state.js';
import { parentState } from './parent-state.js';

const table: [JobStateName[], JobStateName][] = [
  [[], 'queued'],
  [['queued'], 'queued'],
  [['queued', 'queued'], 'queued'],
  [['queued', 'dispatched'], 'dispatched'],
  [['dispatched', 'dispatched'], 'dispatched'],
  [['queued', 'running'], 'running'],
  [['dispatched', 'running'], 'running'],
  // A copy whose worker stopped answering was running: the fan-out is under way.
  [['unknown', 'queued'], 'running'],
  [['succeeded', 'queued'], 'running'],
  [['failed', 'dispatched'], 'running'],
  [['succeeded'], 'succeeded'],
  [['succeeded', 'succeeded'], 'succeeded'],
  [['succeeded', 'failed'], 'failed'],
  [['timed_out', 'failed', 'lost'], 'failed'],
  [['succeeded', 'timed_out', 'lost'], 'timed_out'],
  [['lost', 'stopped'], 'lost'],
  [['stopped', 'succeeded'], 'stopped'],
];

for (const [children, want] of table) {
  test(`children [${children.join(', ')}] → ${want}`, () => {
    assert.equal(parentState(children), want);
  });
}
