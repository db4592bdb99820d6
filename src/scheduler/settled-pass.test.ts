import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { WorkerSnapshot } from './placement.js';
import { planPass, type QueuedJob } from './planner.js';
import { earliest, freshOnly, settle, workersKey } from './settled-pass.js';

const NOW = Date.UTC(2026, 0, 1);
const w = (id: string, over: Partial<WorkerSnapshot> = {}): WorkerSnapshot => ({ id, state: 'up', labels: {}, capacity: 2, running: 0, draining: false, ...over });
const key = workersKey([w('w-1'), w('w-2', { labels: { gpu: 'true' } })]);

test('freshOnly: only with the workers as the last pass left them and no retry due', () => {
  const table: { name: string; last: Parameters<typeof freshOnly>[0]; workers: string; now: number; want: boolean }[] = [
    { name: 'no pass yet', last: undefined, workers: key, now: NOW, want: false },
    { name: 'same workers, no retry waiting', last: { workers: key, nextRetryAt: undefined }, workers: key, now: NOW, want: true },
    { name: 'same workers, retry later', last: { workers: key, nextRetryAt: NOW + 1 }, workers: key, now: NOW, want: true },
    { name: 'same workers, retry due now', last: { workers: key, nextRetryAt: NOW }, workers: key, now: NOW, want: false },
    { name: 'workers changed', last: { workers: key, nextRetryAt: undefined }, workers: workersKey([w('w-1')]), now: NOW, want: false },
  ];
  for (const c of table) assert.equal(freshOnly(c.last, c.workers, c.now), c.want, c.name);
});

test('settle: the retry to wake for, kept by a pass that planned only fresh jobs', () => {
  const other = workersKey([w('w-1')]);
  const table: { name: string; last: Parameters<typeof settle>[0]; onlyFresh: boolean; planned: number | undefined; want: number | undefined }[] = [
    { name: 'whole queue planned: its earliest retry', last: { workers: key, nextRetryAt: NOW + 5 }, onlyFresh: false, planned: NOW + 9, want: NOW + 9 },
    { name: 'whole queue planned, no retry left', last: { workers: key, nextRetryAt: NOW + 5 }, onlyFresh: false, planned: undefined, want: undefined },
    // The timer set for NOW + 5 fired a moment early: the pass saw no fresh job and no retry.
    { name: 'only fresh, none of them a retry: the last pass’s retry stays', last: { workers: key, nextRetryAt: NOW + 5 }, onlyFresh: true, planned: undefined, want: NOW + 5 },
    { name: 'only fresh, one retries sooner', last: { workers: key, nextRetryAt: NOW + 5 }, onlyFresh: true, planned: NOW + 2, want: NOW + 2 },
    { name: 'only fresh, after a pass with none', last: { workers: key, nextRetryAt: undefined }, onlyFresh: true, planned: NOW + 7, want: NOW + 7 },
  ];
  for (const c of table) assert.deepEqual(settle(c.last, c.onlyFresh, other, c.planned), { workers: other, nextRetryAt: c.want }, c.name);
});

test('workersKey: differs when anything placement reads differs, not for label order', () => {
  const base = w('w-1', { labels: { a: '1', b: '2' } });
  assert.equal(workersKey([base]), workersKey([{ ...base, labels: { b: '2', a: '1' } }]));
  const changes: Partial<WorkerSnapshot>[] = [{ id: 'w-2' }, { state: 'down' }, { labels: { a: '1' } }, { capacity: 3 }, { running: 1 }, { draining: true }];
  for (const change of changes) assert.notEqual(workersKey([base]), workersKey([{ ...base, ...change }]), JSON.stringify(change));
  assert.notEqual(workersKey([base, w('w-2')]), workersKey([w('w-2'), base]), 'order counts: placement breaks ties by it');
  assert.notEqual(workersKey([base], new Map([['k', ['a']]])), workersKey([base], new Map([['k', ['b']]])), 'the jobs a concurrency key has placed count');
  assert.equal(workersKey([base], new Map([['k', ['a', 'b']]])), workersKey([base], new Map([['k', ['b', 'a']]])));
});

test('earliest: the smaller time, either may be absent', () => {
  assert.equal(earliest(undefined, undefined), undefined);
  assert.equal(earliest(5, undefined), 5);
  assert.equal(earliest(undefined, 5), 5);
  assert.equal(earliest(7, 5), 5);
});

/** The workers after a plan's starts took their slots. */
function after(workers: WorkerSnapshot[], starts: { workerId: string }[]): WorkerSnapshot[] {
  return workers.map((x) => ({ ...x, running: x.running + starts.filter((s) => s.workerId === x.id).length }));
}

test('planning only the new jobs starts what planning the whole queue would, with the same reasons for all', () => {
  const labels = fc.constantFrom<Record<string, string>>({}, { gpu: 'true' }, { os: 'linux' });
  const job = (prefix: string) =>
    fc.record({
      id: fc.integer({ min: 0, max: 9999 }).map((n) => `${prefix}${String(n).padStart(4, '0')}`),
      priority: fc.integer({ min: 0, max: 2 }),
      labels,
      pinnedWorker: fc.constantFrom('', 'w-1', 'w-3'),
      nextAttemptAt: fc.constantFrom(null, NOW + 1000),
    });
  const worker = fc.record({
    id: fc.constantFrom('w-1', 'w-2', 'w-3'),
    state: fc.constantFrom<WorkerSnapshot['state']>('up', 'up', 'down'),
    labels,
    capacity: fc.integer({ min: 0, max: 3 }),
    running: fc.integer({ min: 0, max: 3 }),
    draining: fc.boolean(),
  });
  fc.assert(
    fc.property(
      fc.uniqueArray(job('a'), { selector: (j) => j.id, maxLength: 12 }),
      fc.uniqueArray(job('b'), { selector: (j) => j.id, maxLength: 6 }),
      fc.uniqueArray(worker, { selector: (x) => x.id }),
      (old: QueuedJob[], fresh: QueuedJob[], workers: WorkerSnapshot[]) => {
        const first = planPass(old, workers, NOW);
        const room = after(workers, first.starts);
        const waiting = first.waits.map((x) => x.job);
        const whole = planPass([...waiting, ...fresh], room, NOW);
        const only = planPass(fresh, room, NOW);
        assert.deepEqual(
          only.starts.map((s) => [s.job.id, s.workerId]),
          whole.starts.map((s) => [s.job.id, s.workerId]),
        );
        const reasons = new Map(whole.waits.map((x) => [x.job.id, x.reason]));
        for (const x of only.waits) assert.equal(x.reason, reasons.get(x.job.id), x.job.id);
        // The jobs the first pass left waiting keep their reasons: nothing to write for them again.
        for (const x of first.waits) assert.equal(reasons.get(x.job.id), x.reason, x.job.id);
      },
    ),
    { numRuns: 500 },
  );
});
