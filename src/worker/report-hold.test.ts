import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JobState } from '../gen/baton/v1/common.js';
import type { JobChange } from './job-table.js';
import { ReportHold } from './report-hold.js';

const { JOB_STATE_STARTING: STARTING, JOB_STATE_RUNNING: RUNNING, JOB_STATE_SUCCEEDED: SUCCEEDED, JOB_STATE_FAILED: FAILED } = JobState;
const NAMES: Partial<Record<JobState, string>> = { [STARTING]: 'starting', [RUNNING]: 'running', [SUCCEEDED]: 'succeeded', [FAILED]: 'failed' };

let seq = 0;
const change = (jobId: string, state: JobState): JobChange => ({
  seq: ++seq,
  status: { jobId, state, exitCode: undefined, signal: '', error: '', startedAtMs: 0, finishedAtMs: 0, pid: 0, outputBytes: undefined, outputTruncated: false },
  previousState: undefined,
});
const names = (changes: JobChange[]): string[] => changes.map((c) => `${c.status.jobId} ${NAMES[c.status.state]}`);

/**
 * Each step: at time `at`, a change offered (with `active` jobs not ended on the worker, 10 if
 * not given), the hold asked what is due, or a job's held change released; what leaves then.
 */
type Step = { at: number; offer: [string, JobState]; active?: number; followed?: boolean } | { at: number; due: true } | { at: number; release: string };

const cases: { name: string; steps: Step[]; sent: string[][]; nextDue?: number }[] = [
  {
    name: "a short job's start and end leave together, without its STARTING",
    steps: [
      { at: 0, offer: ['a', STARTING] },
      { at: 3, offer: ['a', RUNNING] },
      { at: 9, offer: ['a', SUCCEEDED] },
    ],
    sent: [[], [], ['a running', 'a succeeded']],
  },
  {
    name: 'a job that never ran ends alone (its STARTING changed nothing on the scheduler)',
    steps: [
      { at: 0, offer: ['a', STARTING] },
      { at: 5, offer: ['a', FAILED] },
    ],
    sent: [[], ['a failed']],
  },
  {
    name: 'a long job is reported running once the hold has passed, counted from its first report',
    steps: [
      { at: 0, offer: ['a', STARTING] },
      { at: 30, offer: ['a', RUNNING] },
      { at: 99, due: true },
      { at: 100, due: true },
      { at: 5000, offer: ['a', SUCCEEDED] },
    ],
    sent: [[], [], [], ['a running'], ['a succeeded']],
  },
  {
    name: 'a STARTING still held at the deadline goes alone; the RUNNING after it waits again',
    steps: [
      { at: 0, offer: ['a', STARTING] },
      { at: 100, due: true },
      { at: 150, offer: ['a', RUNNING] },
      { at: 200, offer: ['a', SUCCEEDED] },
    ],
    sent: [[], ['a starting'], [], ['a running', 'a succeeded']],
  },
  {
    name: 'an end with nothing held leaves at once (a job taken back from the supervisor that already ended)',
    steps: [{ at: 0, offer: ['a', SUCCEEDED] }],
    sent: [['a succeeded']],
  },
  {
    name: 'jobs are held apart: one job ending releases only its own RUNNING; due ones leave in deadline order',
    steps: [
      { at: 0, offer: ['a', RUNNING] },
      { at: 10, offer: ['b', RUNNING] },
      { at: 20, offer: ['c', RUNNING] },
      { at: 30, offer: ['b', SUCCEEDED] },
      { at: 115, due: true },
    ],
    sent: [[], [], [], ['b running', 'b succeeded'], ['a running']],
    nextDue: 120,
  },
  {
    name: 'a later RUNNING of a held job (its output was cut at the cap) takes the held one’s place and deadline',
    steps: [
      { at: 0, offer: ['a', RUNNING] },
      { at: 50, offer: ['a', RUNNING] },
      { at: 100, due: true },
    ],
    sent: [[], [], ['a running']],
  },
  {
    name: 'a worker with fewer active jobs than the threshold holds nothing: each change leaves at once',
    steps: [
      { at: 0, offer: ['a', STARTING], active: 3 },
      { at: 3, offer: ['a', RUNNING], active: 3 },
      { at: 9, offer: ['a', SUCCEEDED], active: 3 },
    ],
    sent: [['a starting'], ['a running'], ['a succeeded']],
  },
  {
    name: 'a job held while the worker was busy stays held when it gets less busy, and its later change takes its place',
    steps: [
      { at: 0, offer: ['a', STARTING], active: 4 },
      { at: 3, offer: ['a', RUNNING], active: 1 },
      { at: 100, due: true },
    ],
    sent: [[], [], ['a running']],
  },
  {
    name: 'a job whose output is read live is not held, however busy the worker',
    steps: [
      { at: 0, offer: ['a', STARTING], followed: true },
      { at: 3, offer: ['a', RUNNING], followed: true },
      { at: 9, offer: ['a', SUCCEEDED], followed: true },
    ],
    sent: [['a starting'], ['a running'], ['a succeeded']],
  },
  {
    name: 'a released job leaves at once and alone; its end then goes by itself',
    steps: [
      { at: 0, offer: ['a', RUNNING] },
      { at: 1, offer: ['b', RUNNING] },
      { at: 5, release: 'a' },
      { at: 6, release: 'a' },
      { at: 9, offer: ['a', SUCCEEDED] },
    ],
    sent: [[], [], ['a running'], [], ['a succeeded']],
    nextDue: 101,
  },
];

for (const c of cases) {
  test(c.name, () => {
    const hold = new ReportHold(100, 4);
    const sent = c.steps.map((step) =>
      names('due' in step ? hold.due(step.at) : 'release' in step ? hold.release(step.release) : hold.offer(change(...step.offer), step.at, step.active ?? 10, step.followed)),
    );
    assert.deepEqual(sent, c.sent);
    assert.equal(hold.nextDue(), c.nextDue);
  });
}

test('a RUNNING overtaken by another keeps the later one: the one sent carries the latest fields', () => {
  const hold = new ReportHold(100);
  const first = change('a', RUNNING);
  const later = change('a', RUNNING);
  hold.offer(first, 0, 10);
  hold.offer(later, 1, 10);
  assert.deepEqual(hold.due(100), [later]);
});

test('flush sends everything held, in order, and leaves nothing', () => {
  const hold = new ReportHold(100);
  hold.offer(change('a', RUNNING), 0, 10);
  hold.offer(change('b', STARTING), 1, 10);
  assert.deepEqual(names(hold.flush()), ['a running', 'b starting']);
  assert.equal(hold.nextDue(), undefined);
  assert.deepEqual(hold.due(1000), []);
});
