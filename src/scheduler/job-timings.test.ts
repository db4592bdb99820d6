import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JobStateName } from './job-state.js';
import { JobTimings } from './job-timings.js';

type Change = { state: JobStateName; attempt?: number; at: number; nextAttemptAt?: number | null; previous?: JobStateName | null; runOn?: '' | 'all' };

/** Feeds job `j` the changes in order; returns the queue waits observed (seconds). */
function waits(timings: JobTimings, changes: Change[], createdAt = 1_000): (number | undefined)[] {
  return changes.map((c) =>
    timings.jobChanged({ id: 'j', attempt: c.attempt ?? 1, state: c.state, createdAt, updatedAt: c.at, nextAttemptAt: c.nextAttemptAt ?? null, runOn: c.runOn ?? '' }, c.previous),
  );
}

describe('JobTimings: queue wait per attempt', () => {
  const cases: { name: string; changes: Change[]; want: (number | undefined)[] }[] = [
    {
      name: 'queued, dispatched, running: from submission to the start',
      changes: [
        { state: 'queued', at: 1_000, previous: null },
        { state: 'dispatched', at: 3_000 },
        { state: 'running', at: 3_500 },
      ],
      want: [undefined, undefined, 2.5],
    },
    {
      name: 'placed at submission (created dispatched)',
      changes: [
        { state: 'dispatched', at: 1_000, previous: null },
        { state: 'running', at: 1_020 },
      ],
      want: [undefined, 0.02],
    },
    {
      name: 'unplaced and placed again: the wait goes on from the first time it could start',
      changes: [
        { state: 'dispatched', at: 1_000, previous: null },
        { state: 'queued', at: 2_000 },
        { state: 'dispatched', at: 4_000 },
        { state: 'running', at: 5_000 },
      ],
      want: [undefined, undefined, undefined, 4],
    },
    {
      name: "a retry waits from its backoff's end, not from when it was queued",
      changes: [
        { state: 'dispatched', at: 1_000, previous: null },
        { state: 'running', at: 1_000 },
        { state: 'queued', attempt: 2, at: 2_000, nextAttemptAt: 7_000 },
        { state: 'dispatched', attempt: 2, at: 7_000 },
        { state: 'running', attempt: 2, at: 8_000 },
      ],
      want: [undefined, 0, undefined, undefined, 1],
    },
    {
      name: 'a job that waited for the jobs it depends on waits in the queue from its release',
      changes: [
        { state: 'waiting', at: 1_000, previous: null },
        { state: 'queued', at: 9_000 },
        { state: 'running', at: 9_500 },
      ],
      want: [undefined, undefined, 0.5],
    },
    {
      name: 'back from unknown is not a second start',
      changes: [
        { state: 'dispatched', at: 1_000, previous: null },
        { state: 'running', at: 2_000 },
        { state: 'unknown', at: 3_000 },
        { state: 'running', at: 4_000 },
      ],
      want: [undefined, 1, undefined, undefined],
    },
    {
      name: 'a start dated before its submission (clock skew) counts 0, not negative',
      changes: [
        { state: 'dispatched', at: 1_000, previous: null },
        { state: 'running', at: 900 },
      ],
      want: [undefined, 0],
    },
    {
      name: 'a run_on-all parent is never counted (its children are)',
      changes: [
        { state: 'queued', at: 1_000, previous: null, runOn: 'all' },
        { state: 'running', at: 2_000, runOn: 'all' },
      ],
      want: [undefined, undefined],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(waits(new JobTimings(), c.changes), c.want);
    });
  }
});

describe('JobTimings: run time per attempt', () => {
  it("uses the worker's start and end when the report has them", () => {
    const t = new JobTimings();
    waits(t, [
      { state: 'dispatched', at: 1_000, previous: null },
      { state: 'running', at: 2_000 },
    ]);
    assert.equal(t.attemptEnded({ jobId: 'j', attempt: 1, workerId: 'w', outcome: 'succeeded', startedAt: 1_900, finishedAt: 4_900 }, 99_000), 3);
  });

  it('falls back to the announced start, and to now for the end (a lost attempt)', () => {
    const t = new JobTimings();
    waits(t, [
      { state: 'dispatched', at: 1_000, previous: null },
      { state: 'running', at: 2_000 },
    ]);
    assert.equal(t.attemptEnded({ jobId: 'j', attempt: 1, workerId: 'w', outcome: 'lost' }, 12_000), 10);
  });

  it('an attempt never seen running and not dated by its worker is not counted', () => {
    const t = new JobTimings();
    waits(t, [{ state: 'dispatched', at: 1_000, previous: null }]);
    assert.equal(t.attemptEnded({ jobId: 'j', attempt: 1, workerId: 'w', outcome: 'lost' }, 12_000), undefined);
  });

  it('another attempt’s start is not used', () => {
    const t = new JobTimings();
    waits(t, [
      { state: 'dispatched', at: 1_000, previous: null },
      { state: 'running', at: 2_000 },
    ]);
    assert.equal(t.attemptEnded({ jobId: 'j', attempt: 2, workerId: 'w', outcome: 'failed' }, 12_000), undefined);
  });

  it('holds nothing for a first attempt queued or placed: its wait starts at its submission', () => {
    const t = new JobTimings();
    assert.deepEqual(
      waits(t, [
        { state: 'queued', at: 1_000, previous: null },
        { state: 'dispatched', at: 2_000 },
        { state: 'queued', at: 3_000 },
      ]),
      [undefined, undefined, undefined],
    );
    assert.equal(t.size, 0, 'a long queue costs no entry per job here');
    assert.deepEqual(waits(t, [{ state: 'running', at: 4_000 }]), [3]);
  });

  it('holds nothing once the job is final', () => {
    const t = new JobTimings();
    waits(t, [
      { state: 'dispatched', at: 1_000, previous: null },
      { state: 'running', at: 2_000 },
    ]);
    t.attemptEnded({ jobId: 'j', attempt: 1, workerId: 'w', outcome: 'failed', startedAt: 2_000, finishedAt: 3_000 }, 3_000);
    waits(t, [{ state: 'queued', attempt: 2, at: 3_000, nextAttemptAt: 4_000 }]);
    assert.equal(t.size, 1, 'the retry waits');
    waits(t, [{ state: 'stopped', attempt: 2, at: 3_500 }]);
    assert.equal(t.size, 0);
  });
});
