import assert from 'node:assert/strict';
import { uuidv7 } from '../../common/ids.js';
import { isFinal, reportTransition } from '../job-state.js';
import { DEFAULT_RETRY } from '../retry-policy.js';
import { conformance } from '../../../test/support/store-conformance.js';
import type { EventRecord } from './event-store.js';
import { IdempotencyKeyTaken, TickTaken, type ApplyResult, type JobStore, type StatusUpdate } from './job-store.js';
import { SqlJobStore } from './sql-job-store.js';
import { dispatchedJob, newJob } from '../../../test/support/store-jobs.js';

/** A worker's report ('' worker: a stop while queued), by the transition the writer would pick. */
function report(jobs: JobStore, jobId: string, attempt: number, workerId: string, update: StatusUpdate, now: number): Promise<ApplyResult> {
  const transition = workerId === '' && update.state === 'stopped' ? 'stop' : reportTransition(update.state);
  assert.ok(transition, `no transition reports ${update.state}`);
  return jobs.applyStatus(jobId, attempt, workerId, transition, update, now);
}

const NO_SUCH_JOB = '00000000-0000-7000-8000-000000000000';

conformance<JobStore>('JobStore', SqlJobStore, {
  createJob: {
    'then getJob returns the job and one queued attempt': async ({ jobs }) => {
      const job = newJob();
      await jobs.createJob(job);
      const found = await jobs.getJob(job.id);
      assert.ok(found);
      assert.equal(found.job.state, 'queued');
      assert.equal(found.job.workerId, '');
      assert.equal(found.job.attempt, 1);
      assert.deepEqual(found.job.labels, { gpu: 'true' });
      assert.equal(found.job.priority, 3);
      assert.deepEqual(found.job.retry, { ...DEFAULT_RETRY, maxAttempts: 2 });
      assert.deepEqual(found.job.sandbox, { network: 'none' });
      assert.deepEqual(found.job.args, ['a']);
      assert.deepEqual(found.job.env, { K: 'v' });
      assert.equal(typeof found.job.createdAt, 'number');
      assert.equal(found.attempts.length, 1);
      assert.equal(found.attempts[0]!.state, 'queued');
    },
    'answers the job as stored; a job id is unique': async ({ jobs }) => {
      const job = newJob();
      const created = await jobs.createJob({ ...job, timeoutMs: 2500 });
      assert.deepEqual(created, (await jobs.getJob(job.id))?.job);
      assert.equal(created.timeoutMs, 2500);
      await assert.rejects(jobs.createJob(job));
      assert.equal((await jobs.getJob(job.id))?.job.timeoutMs, 2500, 'the second job left the first as it was');
    },
    'records who submitted it': async ({ jobs }) => {
      const job = newJob();
      await jobs.createJob(job);
      assert.equal((await jobs.getJob(job.id))?.job.submittedBy, 'ci');
    },
  },
  createJobs: {
    'a job with after is created waiting, saying what for; its concurrency rule and after read back': async ({ jobs }) => {
      const first = newJob();
      const second = { ...newJob(), after: [first.id], afterCondition: 'finished' as const, concurrency: { key: 'deploy', limit: 2, onLimit: 'skip' as const } };
      const created = await jobs.createJobs([first, second]);
      assert.equal(created[0]!.state, 'queued');
      assert.deepEqual([created[0]!.after, created[0]!.afterCondition, created[0]!.concurrency], [[], 'succeeded', null]);
      const found = await jobs.getJob(second.id);
      assert.deepEqual(found?.job, created[1]);
      assert.equal(found?.job.state, 'waiting');
      assert.equal(found?.job.reason, `waiting for job ${first.id} to finish`);
      assert.deepEqual(found?.job.after, [first.id]);
      assert.equal(found?.job.afterCondition, 'finished');
      assert.deepEqual(found?.job.concurrency, { key: 'deploy', limit: 2, onLimit: 'skip' });
      assert.equal(found?.attempts[0]?.state, 'waiting');
    },
    'keeps the name and stdin: getJob and listActiveJobs read the bytes back, listJobs only counts them': async ({ jobs }) => {
      const stdin = Buffer.from([0, 1, 2, 250, 255]).toString('base64');
      const job = { ...newJob(), name: `n-${uuidv7()}`, stdin };
      const [created] = await jobs.createJobs([job]);
      assert.equal(created!.stdinBytes, 5);
      const stored = (await jobs.getJob(job.id))!.job;
      assert.deepEqual([stored.name, stored.stdin, stored.stdinBytes], [job.name, stdin, 5]);
      assert.equal((await jobs.listActiveJobs()).find((j) => j.id === job.id)?.stdin, stdin);
      const [listed] = (await jobs.listJobs({ name: job.name, limit: 10 })).jobs;
      assert.deepEqual([listed!.id, listed!.stdin, listed!.stdinBytes], [job.id, '', 5]);
      const plain = (await jobs.createJobs([newJob()]))[0]!;
      assert.deepEqual([plain.name, plain.stdin, plain.stdinBytes], ['', '', 0]);
    },
    'one job per (schedule, tick): a second is TickTaken; runs by hand (no tick) are not; listed by schedule': async ({ jobs }) => {
      const schedule = `s-${uuidv7()}`;
      const tick = Date.parse('2026-03-29T01:00:00Z');
      const first = { ...newJob(), schedule, scheduledFor: tick };
      await jobs.createJobs([first]);
      await assert.rejects(jobs.createJobs([{ ...newJob(), schedule, scheduledFor: tick }]), TickTaken);
      // The same tick of another schedule, and two runs triggered by hand, are all fine.
      await jobs.createJobs([{ ...newJob(), schedule: `${schedule}-other`, scheduledFor: tick }]);
      const byHand = [
        { ...newJob(), schedule, scheduledFor: null },
        { ...newJob(), schedule, scheduledFor: null },
      ];
      await jobs.createJobs(byHand);
      const listed = (await jobs.listJobs({ schedule, limit: 10 })).jobs;
      assert.deepEqual(
        listed.map((j) => [j.id, j.schedule, j.scheduledFor]),
        [...byHand.reverse().map((j) => [j.id, schedule, null]), [first.id, schedule, tick]],
      );
    },
    'answers the jobs exactly as stored: queued, or placed at creation (dispatched, with its attempt)': async ({ jobs }) => {
      const parent = newJob();
      const child = { ...newJob(), parentId: parent.id, pinnedWorker: 'w-1', idempotencyKey: `k-${uuidv7()}`, requestHash: 'h' };
      const placed = { ...newJob(), workerId: 'w-2', timeoutMs: 1500 };
      const created = await jobs.createJobs([{ ...parent, runOn: 'all', children: [child.id] }, child, placed]);
      for (const job of created) assert.deepEqual(job, (await jobs.getJob(job.id))?.job, job.id);
      assert.deepEqual(
        created.map((j) => [j.state, j.workerId]),
        [
          ['queued', ''],
          ['queued', ''],
          ['dispatched', 'w-2'],
        ],
      );
      assert.deepEqual(
        (await jobs.getJob(placed.id))?.attempts.map((a) => [a.number, a.state, a.workerId]),
        [[1, 'dispatched', 'w-2']],
      );
      // A placed job goes on from dispatched as one that was marked so.
      assert.ok((await report(jobs, placed.id, 1, 'w-2', { state: 'succeeded', exitCode: 0, startedAt: 5 }, 6)).applied);
      assert.equal(await jobs.markDispatched(placed.id, 1, 'w-1', 7), undefined);
    },
    'is all or nothing; an idempotency key taken by the submitter is IdempotencyKeyTaken': async ({ jobs }) => {
      const first = { ...newJob(), idempotencyKey: `k-${uuidv7()}`, requestHash: 'h1' };
      await jobs.createJob(first);
      const other = newJob();
      await assert.rejects(jobs.createJobs([other, { ...newJob(), idempotencyKey: first.idempotencyKey }]), IdempotencyKeyTaken);
      assert.equal(await jobs.getJob(other.id), undefined);
      // Another submitter may use the same key.
      await jobs.createJob({ ...newJob(), submittedBy: 'someone-else', idempotencyKey: first.idempotencyKey });
    },
    'a failure without an idempotency key is not IdempotencyKeyTaken': async ({ jobs }) => {
      const job = newJob();
      await jobs.createJob(job);
      await assert.rejects(jobs.createJobs([newJob(), job]), (err: Error) => !(err instanceof IdempotencyKeyTaken));
    },
    'of writes asked for together, one that fails fails alone and the others are stored': async ({ jobs }) => {
      const first = { ...newJob(), idempotencyKey: `key-${uuidv7()}` };
      await jobs.createJob(first);
      const [a, b, c] = [newJob(), newJob(), newJob()];
      // Asked for in one turn of the event loop: one group, whose middle write breaks the key's uniqueness.
      const settled = await Promise.allSettled([
        jobs.createJob(a),
        jobs.createJobs([b, { ...newJob(), idempotencyKey: first.idempotencyKey }]),
        jobs.createJob(c),
        jobs.markDispatched(first.id, 1, 'w-1', Date.now()),
      ]);
      assert.deepEqual(
        settled.map((r) => r.status),
        ['fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
      );
      assert.ok((settled[1] as PromiseRejectedResult).reason instanceof IdempotencyKeyTaken);
      assert.equal((await jobs.getJob(a.id))?.job.state, 'queued');
      assert.equal(await jobs.getJob(b.id), undefined, 'the failing write left nothing behind');
      assert.equal((await jobs.getJob(c.id))?.job.state, 'queued');
      assert.equal((await jobs.getJob(first.id))?.job.state, 'dispatched');
    },
    'a run_on-all parent has no attempt and is never active': async ({ jobs }) => {
      const parent = newJob();
      const children = [newJob(), newJob()].map((c) => ({ ...c, parentId: parent.id }));
      const created = await jobs.createJobs([{ ...parent, runOn: 'all', children: children.map((c) => c.id) }, ...children]);
      assert.deepEqual(
        created.map((j) => j.id),
        [parent.id, ...children.map((c) => c.id)],
      );
      assert.deepEqual(
        created[0]!.children,
        children.map((c) => c.id),
      );
      assert.equal(created[1]!.parentId, parent.id);
      assert.equal((await jobs.getJob(parent.id))?.attempts.length, 0);
      const active = (await jobs.listActiveJobs()).map((j) => j.id);
      assert.ok(!active.includes(parent.id) && active.includes(children[0]!.id));
    },
    'every job write stores its event in its own transaction, announced once committed': async ({ jobs, events }) => {
      const announced: EventRecord[] = [];
      events.onJobEvents = (stored) => announced.push(...stored);
      try {
        const before = await events.lastEventId();
        const job = newJob();
        await jobs.createJob(job);
        await jobs.markDispatched(job.id, 1, 'w-1', 2);
        await report(jobs, job.id, 1, 'w-1', { state: 'running' }, 3);
        await jobs.applyStatus(job.id, 1, 'w-1', 'disconnect', { state: 'unknown', reason: 'worker w-1 stopped answering' }, 4);
        await jobs.applyStatus(job.id, 1, 'w-1', 'reconnect', { state: 'running' }, 5);
        await report(jobs, job.id, 1, 'w-1', { state: 'succeeded', exitCode: 0 }, 6);
        // Refused: no event.
        await report(jobs, job.id, 1, 'w-1', { state: 'failed' }, 7);
        const stored = await events.eventsAfter(before, 100, { entityId: job.id });
        assert.deepEqual(
          stored.map((e) => [(JSON.parse(e.data) as { state: string }).state, e.createdAt]),
          [
            ['queued', job.createdAt],
            ['dispatched', 2],
            ['running', 3],
            ['unknown', 4],
            ['running', 5],
            ['succeeded', 6],
          ],
        );
        assert.equal((JSON.parse(stored[3]!.data) as { reason: string }).reason, 'worker w-1 stopped answering');
        assert.deepEqual(announced, stored, 'each event announced once, as stored, in order');
      } finally {
        events.onJobEvents = undefined;
      }
    },
  },
  findByIdempotencyKey: {
    "finds the submitter's job by its key, and no other submitter's": async ({ jobs }) => {
      const job = { ...newJob(), idempotencyKey: `k-${uuidv7()}`, requestHash: 'h1' };
      await jobs.createJob(job);
      const found = await jobs.findByIdempotencyKey('ci', job.idempotencyKey);
      assert.equal(found?.id, job.id);
      assert.equal(found?.requestHash, 'h1');
      assert.equal(await jobs.findByIdempotencyKey('someone-else', job.idempotencyKey), undefined);
      assert.equal(await jobs.findByIdempotencyKey('ci', `k-${uuidv7()}`), undefined);
    },
  },
  childStates: {
    "a parent's children's states; none for a job without": async ({ jobs }) => {
      const parent = newJob();
      const children = [newJob(), newJob()].map((c) => ({ ...c, parentId: parent.id }));
      await jobs.createJobs([{ ...parent, runOn: 'all', children: children.map((c) => c.id) }, ...children]);
      await jobs.markDispatched(children[1]!.id, 1, 'w-1', 2);
      assert.deepEqual((await jobs.childStates(parent.id)).sort(), ['dispatched', 'queued']);
      assert.deepEqual(await jobs.childStates(NO_SUCH_JOB), []);
    },
  },
  setParentState: {
    "sums up a parent's state once per change; final keeps its first finish time; only a parent": async ({ jobs }) => {
      const parent = newJob();
      const child = { ...newJob(), parentId: parent.id };
      await jobs.createJobs([{ ...parent, runOn: 'all', children: [child.id] }, child]);
      assert.equal((await jobs.setParentState(parent.id, 'running', 5))?.state, 'running');
      assert.equal(await jobs.setParentState(parent.id, 'running', 6), undefined);
      const done = await jobs.setParentState(parent.id, 'succeeded', 7);
      assert.equal(done?.finishedAt, 7);
      assert.equal(await jobs.setParentState(child.id, 'succeeded', 8), undefined);
      assert.equal(await jobs.setParentState(NO_SUCH_JOB, 'running', 8), undefined);
    },
  },
  applyStatus: {
    'moves forward, refuses backwards, other workers and other attempts': async ({ jobs }) => {
      const job = await dispatchedJob(jobs);
      const running = await report(jobs, job.id, 1, 'w-1', { state: 'running', startedAt: 5 }, 5);
      assert.ok(running.applied);
      assert.equal(running.job.state, 'running');
      assert.equal(running.job.updatedAt, 5);
      assert.deepEqual(await report(jobs, job.id, 1, 'other', { state: 'failed' }, 6), { applied: false, current: undefined });
      assert.deepEqual(await report(jobs, job.id, 2, 'w-1', { state: 'failed' }, 6), { applied: false, current: undefined });
      assert.equal((await report(jobs, job.id, 1, 'w-1', { state: 'succeeded', exitCode: 0, finishedAt: 9 }, 9)).applied, true);
      assert.deepEqual(await report(jobs, job.id, 1, 'w-1', { state: 'running' }, 10), { applied: false, current: 'succeeded' });
      const found = await jobs.getJob(job.id);
      assert.equal(found?.job.state, 'succeeded');
      assert.equal(found?.job.exitCode, 0);
      assert.equal(found?.job.finishedAt, 9);
      assert.equal(found?.attempts[0]?.startedAt, 5);
      assert.equal(found?.attempts[0]?.state, 'succeeded');
      assert.equal(found?.attempts[0]?.workerId, 'w-1');
    },
    'unknown is not final: it ends lost (final); no report moves a lost job': async ({ jobs }) => {
      const job = await dispatchedJob(jobs, 'w-1');
      assert.ok((await jobs.applyStatus(job.id, 1, 'w-1', 'disconnect', { state: 'unknown', reason: 'silent' }, 2)).applied);
      assert.equal((await jobs.getJob(job.id))?.attempts[0]?.state, 'unknown');
      assert.deepEqual(await jobs.applyStatus(job.id, 1, 'w-1', 'disconnect', { state: 'unknown' }, 3), { applied: false, current: 'unknown' });
      assert.ok((await jobs.applyStatus(job.id, 1, 'w-1', 'lose', { state: 'lost', error: 'gone' }, 4)).applied);
      for (const [transition, state] of [
        ['reconnect', 'running'],
        ['start', 'running'],
        ['finish', 'succeeded'],
      ] as const) {
        assert.deepEqual(await jobs.applyStatus(job.id, 1, 'w-1', transition, { state }, 5), { applied: false, current: 'lost' }, transition);
      }
    },
    'a transition that cannot lead to the state, or an unknown job, is refused': async ({ jobs }) => {
      const job = await dispatchedJob(jobs, 'w-1');
      assert.deepEqual(await jobs.applyStatus(job.id, 1, 'w-1', 'dispatch', { state: 'succeeded' }, 2), { applied: false, current: undefined });
      assert.equal((await jobs.getJob(job.id))?.job.state, 'dispatched');
      assert.deepEqual(await jobs.applyStatus(NO_SUCH_JOB, 1, 'w-1', 'start', { state: 'running' }, 2), { applied: false, current: undefined });
    },
    'a waiting job is released to the queue or skipped, without a worker; a queued one is skipped': async ({ jobs }) => {
      const [released, skipped] = [
        { ...newJob(), after: [NO_SUCH_JOB] },
        { ...newJob(), after: [NO_SUCH_JOB] },
      ];
      const queued = newJob();
      await jobs.createJobs([released, skipped, queued]);
      assert.deepEqual(await jobs.applyStatus(released.id, 1, '', 'dispatch', { state: 'dispatched' }, 2), { applied: false, current: 'waiting' }, 'a waiting job is not placed');
      const release = await jobs.applyStatus(released.id, 1, '', 'release', { state: 'queued' }, 3);
      assert.ok(release.applied);
      assert.equal(release.job.state, 'queued');
      assert.equal(release.job.reason, '', 'the wait is over');
      assert.equal((await jobs.getJob(released.id))?.attempts[0]?.state, 'queued');
      assert.deepEqual(await jobs.applyStatus(released.id, 1, '', 'release', { state: 'queued' }, 4), { applied: false, current: 'queued' });
      for (const job of [skipped, queued]) {
        const skip = await jobs.applyStatus(job.id, 1, '', 'skip', { state: 'skipped', reason: 'why', error: 'why' }, 5);
        assert.ok(skip.applied);
        assert.deepEqual([skip.job.state, skip.job.reason, skip.job.error, skip.job.finishedAt], ['skipped', 'why', 'why', 5]);
        assert.equal((await jobs.getJob(job.id))?.attempts[0]?.state, 'skipped');
        assert.deepEqual(await jobs.applyStatus(job.id, 1, '', 'release', { state: 'queued' }, 6), { applied: false, current: 'skipped' }, 'skipped is final');
      }
    },
    'answers the job exactly as stored, placed at creation or from the queue, with what other writes changed': async ({ jobs }) => {
      const placed = { ...newJob(), workerId: 'w-1', stdin: Buffer.from('input').toString('base64') };
      const queued = newJob();
      await jobs.createJobs([placed, queued]);
      assert.ok(await jobs.markDispatched(queued.id, 1, 'w-1', 2));
      // A retry: attempt 2 carries the first's error until it ends, and is placed from the queue again.
      await report(jobs, queued.id, 1, 'w-1', { state: 'running' }, 3);
      assert.ok(await jobs.requeueForRetry(queued.id, 1, 'w-1', 'finish', { state: 'failed', error: 'exit 1', exitCode: 1 }, 4, 'retrying', 4));
      assert.ok(await jobs.markDispatched(queued.id, 2, 'w-2', 5));
      const runs = [
        { id: placed.id, attempt: 1, workerId: 'w-1' },
        { id: queued.id, attempt: 2, workerId: 'w-2' },
      ];
      for (const { id, attempt, workerId } of runs) {
        // Not a status write: the next one must still answer it.
        assert.ok(await jobs.setStoppedBy(id, 'someone', 6));
        const steps: StatusUpdate[] = [
          { state: 'running', startedAt: 7 },
          { state: 'succeeded', exitCode: 0, signal: '', error: '', outputTruncated: true, finishedAt: 8 },
        ];
        for (const update of steps) {
          const result = await report(jobs, id, attempt, workerId, update, 9);
          assert.ok(result.applied, update.state);
          assert.deepEqual(result.job, (await jobs.getJob(id))?.job, `${id} ${update.state}`);
        }
      }
    },
    'reports asked for together each apply as they would one after the other, each with its event in order': async ({ jobs, events }) => {
      const [a, b, c, d, e] = [await dispatchedJob(jobs), await dispatchedJob(jobs), await dispatchedJob(jobs), await dispatchedJob(jobs), await dispatchedJob(jobs)];
      const told: EventRecord[] = [];
      const before = events.onJobEvents;
      events.onJobEvents = (stored) => {
        told.push(...stored);
        before?.(stored);
      };
      // In one turn: the first write commits alone, the others in one group commit, where
      // PostgreSQL merges the writes of a shape into one statement: never one job's twice, nor
      // one ahead of an earlier write of its job (e's start must not run before its end).
      const results = await Promise.all([
        report(jobs, c!.id, 1, 'other', { state: 'running', startedAt: 2 }, 2),
        report(jobs, a!.id, 1, 'w-1', { state: 'running', startedAt: 2 }, 2),
        report(jobs, b!.id, 1, 'w-1', { state: 'running', startedAt: 2 }, 2),
        report(jobs, a!.id, 1, 'w-1', { state: 'running', startedAt: 3 }, 3),
        report(jobs, e!.id, 1, 'w-1', { state: 'succeeded', exitCode: 0, finishedAt: 4 }, 4),
        report(jobs, e!.id, 1, 'w-1', { state: 'running', startedAt: 2 }, 2),
        report(jobs, b!.id, 1, 'w-1', { state: 'succeeded', exitCode: 0, finishedAt: 4 }, 4),
        report(jobs, d!.id, 1, 'w-1', { state: 'running', startedAt: 2 }, 2),
        report(jobs, d!.id, 1, 'w-1', { state: 'failed', exitCode: 1, finishedAt: 5 }, 5),
      ]);
      events.onJobEvents = before;
      assert.deepEqual(
        results.map((r) => (r.applied ? r.job.state : `refused, ${r.current}`)),
        ['refused, undefined', 'running', 'running', 'refused, running', 'succeeded', 'refused, succeeded', 'succeeded', 'running', 'failed'],
      );
      for (const [job, state, startedAt] of [
        [a, 'running', 2],
        [b, 'succeeded', 2],
        [c, 'dispatched', null],
        [d, 'failed', 2],
        [e, 'succeeded', null],
      ] as const) {
        const found = await jobs.getJob(job!.id);
        assert.equal(found?.job.state, state, job!.id);
        assert.equal(found?.attempts[0]?.state, state, job!.id);
        assert.equal(found?.attempts[0]?.startedAt, startedAt, job!.id);
      }
      assert.deepEqual(
        told.sort((x, y) => x.id - y.id).map((event) => [event.entityId, (JSON.parse(event.data) as { state: string }).state]),
        [
          [a!.id, 'running'],
          [b!.id, 'running'],
          [e!.id, 'succeeded'],
          [b!.id, 'succeeded'],
          [d!.id, 'running'],
          [d!.id, 'failed'],
        ],
      );
    },
    'a stop while queued needs no worker': async ({ jobs }) => {
      const queued = newJob();
      await jobs.createJob(queued);
      assert.equal((await report(jobs, queued.id, 1, '', { state: 'stopped', error: 'stopped while queued' }, 3)).applied, true);
      assert.equal(await jobs.markDispatched(queued.id, 1, 'w-1', 4), undefined);
    },
  },
  markDispatched: {
    'happens once, and answers the job as stored': async ({ jobs }) => {
      const job = newJob();
      await jobs.createJob(job);
      const dispatched = await jobs.markDispatched(job.id, 1, 'w-1', 2);
      assert.equal(dispatched?.state, 'dispatched');
      assert.equal(dispatched?.workerId, 'w-1');
      assert.equal(await jobs.markDispatched(job.id, 1, 'w-2', 2), undefined);
      assert.equal((await jobs.getJob(job.id))?.job.workerId, 'w-1');
      assert.equal((await jobs.getJob(job.id))?.attempts[0]?.workerId, 'w-1');
      assert.equal(await jobs.markDispatched(NO_SUCH_JOB, 1, 'w-1', 2), undefined);
    },
  },
  returnToQueue: {
    'puts a refused dispatch back, with its reason; only from its worker': async ({ jobs }) => {
      const job = await dispatchedJob(jobs, 'w-1');
      assert.equal(await jobs.returnToQueue(job.id, 1, 'w-2', 'nope', 2), undefined);
      assert.equal(await jobs.returnToQueue(NO_SUCH_JOB, 1, 'w-1', 'nope', 2), undefined);
      assert.ok(await jobs.returnToQueue(job.id, 1, 'w-1', 'worker w-1 is at capacity', 2));
      const found = await jobs.getJob(job.id);
      assert.equal(found?.job.state, 'queued');
      assert.equal(found?.job.workerId, '');
      assert.equal(found?.job.reason, 'worker w-1 is at capacity');
      assert.deepEqual(
        found?.attempts.map((a) => [a.state, a.workerId]),
        [['queued', '']],
      );
      assert.ok(await jobs.markDispatched(job.id, 1, 'w-2', 3));
    },
  },
  requeueForRetry: {
    'ends the attempt and queues the next one, once': async ({ jobs }) => {
      const job = await dispatchedJob(jobs, 'w-1');
      await report(jobs, job.id, 1, 'w-1', { state: 'running' }, 2);
      const lost = { state: 'lost' as const, error: 'worker w-1 stopped answering' };
      assert.ok(await jobs.requeueForRetry(job.id, 1, 'w-1', 'finish', lost, 500, 'retrying', 3));
      assert.equal(await jobs.requeueForRetry(job.id, 1, 'w-1', 'finish', lost, 500, 'retrying', 4), undefined);
      const found = await jobs.getJob(job.id);
      assert.equal(found?.job.state, 'queued');
      assert.equal(found?.job.attempt, 2);
      assert.equal(found?.job.nextAttemptAt, 500);
      assert.equal(found?.job.error, 'worker w-1 stopped answering');
      assert.deepEqual(
        found?.attempts.map((a) => [a.number, a.workerId, a.state, a.finishedAt]),
        [
          [1, 'w-1', 'lost', 3],
          [2, '', 'queued', null],
        ],
      );
      // A late report of attempt 1 changes nothing.
      assert.deepEqual(await report(jobs, job.id, 1, 'w-1', { state: 'stopped' }, 5), { applied: false, current: undefined });
      assert.ok(await jobs.markDispatched(job.id, 2, 'w-2', 6));
      assert.equal((await report(jobs, job.id, 2, 'w-2', { state: 'succeeded', exitCode: 0 }, 7)).applied, true);
      assert.equal((await jobs.getJob(job.id))?.job.nextAttemptAt, null);
    },
    "an end folded with its running report keeps the worker's start time on the attempt": async ({ jobs }) => {
      // Straight from dispatched: the worker's RUNNING came with the end (status-burst.ts), never written on its own.
      const job = await dispatchedJob(jobs, 'w-1');
      const failed = { state: 'failed' as const, error: 'exited with code 1', exitCode: 1, startedAt: 2, finishedAt: 3 };
      assert.ok(await jobs.requeueForRetry(job.id, 1, 'w-1', 'finish', failed, 500, 'retrying', 4));
      assert.deepEqual(
        (await jobs.getJob(job.id))?.attempts.map((a) => [a.number, a.state, a.startedAt, a.finishedAt]),
        [
          [1, 'failed', 2, 3],
          [2, 'queued', null, null],
        ],
      );
    },
    'only an unknown attempt is given up on (lose); an unknown job is refused': async ({ jobs }) => {
      const job = await dispatchedJob(jobs, 'w-1');
      const lost = { state: 'lost' as const, error: 'gone' };
      assert.equal(await jobs.requeueForRetry(job.id, 1, 'w-1', 'lose', lost, 9, 'retrying', 2), undefined);
      await jobs.applyStatus(job.id, 1, 'w-1', 'disconnect', { state: 'unknown' }, 2);
      assert.equal((await jobs.requeueForRetry(job.id, 1, 'w-1', 'lose', lost, 9, 'retrying', 3))?.state, 'queued');
      assert.equal(await jobs.requeueForRetry(NO_SUCH_JOB, 1, 'w-1', 'finish', lost, 9, 'retrying', 3), undefined);
    },
    'racing applyStatus on the same jobs: one wins each, no deadlock': async ({ jobs }) => {
      const racing = await Promise.all(Array.from({ length: 20 }, () => dispatchedJob(jobs, 'w-race')));
      const lost = { state: 'lost' as const, error: 'gone' };
      const results = await Promise.all(
        racing.map(async (job) => {
          const [requeued, applied] = await Promise.all([
            jobs.requeueForRetry(job.id, 1, 'w-race', 'finish', lost, 1, 'retrying', 2),
            report(jobs, job.id, 1, 'w-race', { state: 'succeeded', exitCode: 0 }, 2),
          ]);
          return [requeued !== undefined, applied.applied];
        }),
      );
      for (const [requeued, applied] of results) assert.equal(Number(requeued) + Number(applied), 1);
    },
  },
  setReason: {
    'shows on a queued job; refused once it is no longer queued at that attempt': async ({ jobs }) => {
      const queued = newJob();
      await jobs.createJob(queued);
      assert.equal((await jobs.setReason(queued.id, 1, 'no worker has labels gpu=true', 2))?.reason, 'no worker has labels gpu=true');
      assert.equal((await jobs.listActiveJobs()).find((j) => j.id === queued.id)?.reason, 'no worker has labels gpu=true');
      assert.equal(await jobs.setReason(queued.id, 2, 'other attempt', 3), undefined);
      const dispatched = await dispatchedJob(jobs);
      assert.equal(await jobs.setReason(dispatched.id, 1, 'too late', 3), undefined);
      assert.equal((await jobs.getJob(dispatched.id))?.job.reason, '');
    },
  },
  setStoppedBy: {
    'the first stopper is kept; unknown job refused': async ({ jobs }) => {
      const job = newJob();
      await jobs.createJob(job);
      assert.equal((await jobs.getJob(job.id))?.job.stoppedBy, '');
      assert.equal((await jobs.setStoppedBy(job.id, 'ops', 4))?.stoppedBy, 'ops');
      assert.equal(await jobs.setStoppedBy(job.id, 'later', 4), undefined);
      assert.equal((await jobs.getJob(job.id))?.job.stoppedBy, 'ops');
      assert.equal(await jobs.setStoppedBy(NO_SUCH_JOB, 'ops', 4), undefined);
    },
  },
  listActiveJobs: {
    'every unfinished dispatchable job, oldest first': async ({ jobs }) => {
      const queued = newJob();
      await jobs.createJob(queued);
      const waiting = { ...newJob(), after: [queued.id] };
      await jobs.createJob(waiting);
      const running = await dispatchedJob(jobs, 'w-3');
      const done = await dispatchedJob(jobs, 'w-3');
      await report(jobs, done.id, 1, 'w-3', { state: 'failed' }, 9);
      const ids = (await jobs.listActiveJobs()).map((j) => j.id);
      assert.ok(ids.includes(queued.id) && ids.includes(waiting.id) && ids.includes(running.id) && !ids.includes(done.id));
      assert.ok(ids.indexOf(queued.id) < ids.indexOf(running.id));
      assert.deepEqual(ids, [...ids].sort());
    },
  },
  countQueued: {
    'counts queued jobs, not parents or dispatched ones': async ({ jobs }) => {
      const before = await jobs.countQueued();
      const parent = newJob();
      const child = { ...newJob(), parentId: parent.id };
      await jobs.createJobs([{ ...parent, runOn: 'all', children: [child.id] }, child]);
      await dispatchedJob(jobs);
      assert.equal(await jobs.countQueued(), before + 1);
      await jobs.markDispatched(child.id, 1, 'w-1', 2);
      assert.equal(await jobs.countQueued(), before);
    },
  },
  countJobsByState: {
    'counts every job by its state': async ({ jobs }) => {
      const before = await jobs.countJobsByState();
      const job = await dispatchedJob(jobs);
      await jobs.createJob(newJob());
      await report(jobs, job.id, 1, 'w-1', { state: 'failed' }, 3);
      const after = await jobs.countJobsByState();
      const delta = (state: string): number => (after.get(state) ?? 0) - (before.get(state) ?? 0);
      assert.deepEqual([delta('queued'), delta('dispatched'), delta('failed'), delta('running')], [1, 0, 1, 0]);
      for (const n of after.values()) assert.equal(typeof n, 'number');
    },
  },
  getJob: {
    'an unknown job is undefined; attempts come oldest first': async ({ jobs }) => {
      assert.equal(await jobs.getJob(NO_SUCH_JOB), undefined);
      const job = await dispatchedJob(jobs);
      await jobs.requeueForRetry(job.id, 1, 'w-1', 'finish', { state: 'failed' }, 1, 'retrying', 2);
      assert.deepEqual(
        (await jobs.getJob(job.id))?.attempts.map((a) => a.number),
        [1, 2],
      );
    },
  },
  getJobs: {
    'the jobs as stored, unknown ids left out, none for no ids': async ({ jobs }) => {
      const queued = newJob();
      await jobs.createJob(queued);
      const dispatched = await dispatchedJob(jobs);
      const found = await jobs.getJobs([dispatched.id, NO_SUCH_JOB, queued.id]);
      assert.deepEqual(
        found.map((j) => [j.id, j.state, j.workerId]).sort(),
        [
          [dispatched.id, 'dispatched', 'w-1'],
          [queued.id, 'queued', ''],
        ].sort(),
      );
      assert.deepEqual(
        found.find((j) => j.id === queued.id),
        (await jobs.getJob(queued.id))?.job,
      );
      assert.deepEqual(await jobs.getJobs([]), []);
    },
  },
  listJobs: {
    'newest first, filters by worker and state, pages by cursor': async ({ jobs }) => {
      const worker = `w-${uuidv7()}`;
      const base = Date.now() + 1000;
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await dispatchedJob(jobs, worker, base + i)).id);
      const page1 = await jobs.listJobs({ workerId: worker, limit: 3 });
      assert.deepEqual(
        page1.jobs.map((j) => j.id),
        ids.slice(2).reverse(),
      );
      assert.equal(page1.nextCursor, ids[2]);
      const page2 = await jobs.listJobs({ workerId: worker, limit: 3, cursor: page1.nextCursor! });
      assert.deepEqual(
        page2.jobs.map((j) => j.id),
        ids.slice(0, 2).reverse(),
      );
      assert.equal(page2.nextCursor, null);
      assert.equal((await jobs.listJobs({ workerId: worker, state: 'running', limit: 10 })).jobs.length, 0);
      assert.equal((await jobs.listJobs({ workerId: worker, state: 'dispatched', limit: 10 })).jobs.length, 5);
    },
    'after: the jobs whose after names the job, and no others; LIKE wildcards in the id match nothing': async ({ jobs }) => {
      const [a, b] = [newJob(), newJob()];
      const both = { ...newJob(), after: [a.id, b.id] };
      const onlyB = { ...newJob(), after: [b.id] };
      await jobs.createJobs([a, b, both, onlyB]);
      const after = async (id: string): Promise<string[]> => (await jobs.listJobs({ after: id, limit: 10 })).jobs.map((j) => j.id);
      assert.deepEqual(await after(a.id), [both.id]);
      assert.deepEqual(await after(b.id), [onlyB.id, both.id]);
      assert.deepEqual(await after(both.id), []);
      assert.deepEqual(await after('%'), []);
      assert.deepEqual(await after(`${a.id.slice(0, -1)}_`), []);
    },
    'filters by name, newest first': async ({ jobs }) => {
      const name = `n-${uuidv7()}`;
      const base = Date.now() + 1000;
      const named = [
        { ...newJob(base), name },
        { ...newJob(base + 1), name },
      ];
      await jobs.createJobs([...named, { ...newJob(base + 2), name: `${name}-other` }, newJob(base + 3)]);
      assert.deepEqual(
        (await jobs.listJobs({ name, limit: 10 })).jobs.map((j) => j.id),
        named.map((j) => j.id).reverse(),
      );
    },
  },
  pruneJobs: {
    'final jobs that finished before the time, oldest first, at most `batch`, with their attempts and events': async ({ jobs, events }) => {
      // Finished before any other case's job, so these are the oldest.
      const old = await dispatchedJob(jobs, 'w-1', 1);
      const older = await dispatchedJob(jobs, 'w-1', 1);
      const newer = await dispatchedJob(jobs, 'w-1', 1);
      const running = await dispatchedJob(jobs, 'w-1', 1);
      await report(jobs, old.id, 1, 'w-1', { state: 'succeeded', finishedAt: -90 }, 5);
      await report(jobs, newer.id, 1, 'w-1', { state: 'succeeded', finishedAt: -80 }, 5);
      await report(jobs, older.id, 1, 'w-1', { state: 'failed', finishedAt: -100 }, 5);
      await report(jobs, running.id, 1, 'w-1', { state: 'running' }, 5);
      assert.ok((await events.eventsAfter(0, 10, { entityId: old.id })).length > 0);
      assert.deepEqual(await jobs.pruneJobs(-50, 1), [older.id]);
      assert.deepEqual(await jobs.pruneJobs(-50, 10), [old.id, newer.id]);
      assert.deepEqual(await jobs.pruneJobs(-50, 10), []);
      assert.equal(await jobs.getJob(old.id), undefined);
      assert.equal(await jobs.getJob(newer.id), undefined);
      assert.deepEqual(await events.eventsAfter(0, 10, { entityId: old.id }), []);
      assert.equal((await jobs.getJob(running.id))?.job.state, 'running', 'a job not in a final state stays');
    },
    'not a job that an unfinished job depends on, however old; once that one has ended, it goes': async ({ jobs }) => {
      // Finished before the other case's jobs and pruned below their times, so only these count.
      const needed = await dispatchedJob(jobs, 'w-1', 1);
      const free = await dispatchedJob(jobs, 'w-1', 1);
      const [dependent] = await jobs.createJobs([{ ...newJob(), after: [needed.id], afterCondition: 'finished' }]);
      assert.ok(dependent && !isFinal(dependent.state), dependent?.state);
      await report(jobs, needed.id, 1, 'w-1', { state: 'succeeded', finishedAt: -300 }, 5);
      await report(jobs, free.id, 1, 'w-1', { state: 'succeeded', finishedAt: -290 }, 5);
      assert.deepEqual(await jobs.pruneJobs(-250, 1), [free.id], 'the kept one does not take the batch');
      assert.deepEqual(await jobs.pruneJobs(-250, 10), []);
      assert.ok(await jobs.getJob(needed.id), 'kept while its dependent waits');
      await report(jobs, dependent.id, 1, '', { state: 'stopped' }, 6);
      assert.deepEqual(await jobs.pruneJobs(-250, 10), [needed.id]);
    },
  },
});
