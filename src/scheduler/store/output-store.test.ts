import assert from 'node:assert/strict';
import { uuidv7 } from '../../common/ids.js';
import { conformance } from '../../../test/support/store-conformance.js';
import type { Stores } from './stores.js';
import type { AttemptEnded, OutputStore } from './output-store.js';
import { dispatchedJob } from '../../../test/support/store-jobs.js';
import { SqlOutputStore } from './sql-output-store.js';

const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');

/** A complete output of `pieces`, stored for `jobId` (default: a fresh id); returns the id. */
async function kept({ outputs }: Stores, pieces: string[], completedAt: number, attempt = 1, jobId = `j-${uuidv7()}`): Promise<string> {
  assert.equal(await outputs.beginOutput(jobId, attempt, completedAt), true);
  let at = 0;
  for (const piece of pieces) {
    await outputs.appendOutput(jobId, attempt, at, bytes(piece));
    at += Buffer.byteLength(piece);
  }
  await outputs.completeOutput(jobId, attempt, at, false, completedAt);
  return jobId;
}

const SUCCEEDED: AttemptEnded = { workerId: 'w-1', state: 'succeeded' };

/** A job whose first attempt ran on w-1 and ended as `state` says; returns its id. */
async function endedJob({ jobs }: Stores, state: 'succeeded' | 'lost' = 'succeeded'): Promise<string> {
  const job = await dispatchedJob(jobs, 'w-1');
  await jobs.applyStatus(job.id, 1, 'w-1', 'start', { state: 'running' }, Date.now());
  if (state === 'lost') await jobs.applyStatus(job.id, 1, 'w-1', 'disconnect', { state: 'unknown' }, Date.now());
  const ended = await jobs.applyStatus(job.id, 1, 'w-1', state === 'lost' ? 'lose' : 'finish', { state }, Date.now());
  assert.equal(ended.applied, true);
  return job.id;
}

conformance<OutputStore>('OutputStore', SqlOutputStore, {
  beginOutput: {
    'true for a new or an interrupted copy (whose pieces go), false once complete': async ({ outputs }) => {
      const jobId = `j-${uuidv7()}`;
      assert.equal(await outputs.beginOutput(jobId, 1, 10), true);
      await outputs.appendOutput(jobId, 1, 0, bytes('half'));
      assert.equal(await outputs.beginOutput(jobId, 1, 11), true, 'an incomplete copy starts again');
      assert.equal((await outputs.readOutput(jobId, 1, 0, 100)).length, 0, 'its pieces dropped');
      await outputs.appendOutput(jobId, 1, 0, bytes('whole'));
      await outputs.completeOutput(jobId, 1, 5, false, 12);
      assert.equal(await outputs.beginOutput(jobId, 1, 13), false);
      assert.equal((await outputs.readOutput(jobId, 1, 0, 100)).toString(), 'whole');
      assert.equal(await outputs.beginOutput(jobId, 2, 13), true, 'another attempt is its own copy');
    },
  },
  keepEndedOutput: {
    'a complete, empty record that reads as no bytes; one already there is left as it is': async (stores) => {
      const { outputs } = stores;
      const jobId = await endedJob(stores);
      assert.equal(await outputs.keepEndedOutput(jobId, 1, SUCCEEDED, { data: new Uint8Array(0), truncated: false }, 40), true);
      assert.deepEqual(await outputs.getOutput(jobId, 1), {
        jobId,
        attempt: 1,
        bytes: 0,
        complete: true,
        truncated: false,
        createdAt: 40,
        completedAt: 40,
        prunedAt: null,
        prunedReason: '',
      });
      assert.equal((await outputs.readOutput(jobId, 1, 0, 100)).length, 0);
      assert.equal(await outputs.beginOutput(jobId, 1, 41), false, 'nothing left to copy');
      const copied = await kept(stores, ['abc'], 50, 1, await endedJob(stores));
      await outputs.keepEndedOutput(copied, 1, SUCCEEDED, { data: new Uint8Array(0), truncated: false }, 60);
      assert.equal((await outputs.getOutput(copied, 1))?.bytes, 3, 'a kept copy is not replaced');
      assert.equal((await outputs.readOutput(copied, 1, 0, 100)).toString(), 'abc');
    },
    'a small output with its runs, kept complete in one write; sent again, stored once': async (stores) => {
      const { outputs } = stores;
      const jobId = await endedJob(stores);
      const data = Buffer.from([104, 105, 10, 0, 255, 10]);
      const runs = Uint8Array.from([0x0c, 0x81, 0x01]);
      await outputs.keepEndedOutput(jobId, 1, SUCCEEDED, { data, runs, truncated: true }, 70);
      const record = await outputs.getOutput(jobId, 1);
      assert.equal(record?.bytes, 6);
      assert.equal(record?.complete, true);
      assert.equal(record?.truncated, true);
      assert.equal(record?.completedAt, 70);
      assert.deepEqual([...(await outputs.readOutput(jobId, 1, 0, 100))], [...data], 'binary bytes as sent');
      assert.deepEqual([...((await outputs.readOutputRuns(jobId, 1)) ?? [])], [...runs]);
      assert.equal(await outputs.beginOutput(jobId, 1, 71), false, 'nothing left to copy');
      await outputs.keepEndedOutput(jobId, 1, SUCCEEDED, { data: bytes('other!'), runs: Uint8Array.from([0x0d]), truncated: false }, 80);
      assert.deepEqual([...(await outputs.readOutput(jobId, 1, 0, 100))], [...data], 'the first report kept');
      assert.deepEqual([...((await outputs.readOutputRuns(jobId, 1)) ?? [])], [...runs]);
      assert.equal((await outputs.getOutput(jobId, 1))?.completedAt, 70);
      const plain = await endedJob(stores);
      await outputs.keepEndedOutput(plain, 1, SUCCEEDED, { data: bytes('no runs\n'), truncated: false }, 90);
      assert.equal((await outputs.readOutput(plain, 1, 0, 100)).toString(), 'no runs\n');
      assert.equal(await outputs.readOutputRuns(plain, 1), undefined, 'stdout and stderr not kept apart');
    },
    'stored with the end applied in the same commit; nothing stored for an end that was not applied': async (stores) => {
      const { jobs, outputs } = stores;
      const output = { data: bytes('late\n'), runs: Uint8Array.from([0x05]), truncated: false };
      // The hot path: the end's write and the keep asked for in one turn, one group commit.
      const job = await dispatchedJob(jobs, 'w-1');
      await jobs.applyStatus(job.id, 1, 'w-1', 'start', { state: 'running' }, 100);
      const end = jobs.applyStatus(job.id, 1, 'w-1', 'finish', { state: 'succeeded', exitCode: 0 }, 101);
      const keep = outputs.keepEndedOutput(job.id, 1, SUCCEEDED, output, 101);
      assert.equal((await end).applied, true);
      assert.equal(await keep, true, 'kept with the end');
      assert.equal((await outputs.readOutput(job.id, 1, 0, 100)).toString(), 'late\n');
      // Ends whose report was refused, or that name no attempt: no row, no bytes, no runs.
      const running = await dispatchedJob(jobs, 'w-1');
      await jobs.applyStatus(running.id, 1, 'w-1', 'start', { state: 'running' }, 100);
      const lost = await endedJob(stores, 'lost');
      const other = await endedJob(stores);
      const cases: [string, string, number, AttemptEnded][] = [
        ['a job that is not there', `j-${uuidv7()}`, 1, SUCCEEDED],
        ['an attempt still running (its end refused)', running.id, 1, SUCCEEDED],
        ['an attempt that ended otherwise (lost, then a late report)', lost, 1, SUCCEEDED],
        ['an attempt on another worker', other, 1, { workerId: 'w-2', state: 'succeeded' }],
        ['an attempt the job never had (stale or forged)', job.id, 2, SUCCEEDED],
      ];
      for (const [name, jobId, attempt, ended] of cases) {
        assert.equal(await outputs.keepEndedOutput(jobId, attempt, ended, output, 102), false, name);
        assert.equal(await outputs.getOutput(jobId, attempt), undefined, `${name}: no record`);
        assert.equal((await outputs.readOutput(jobId, attempt, 0, 100)).length, 0, `${name}: no bytes`);
        assert.equal(await outputs.readOutputRuns(jobId, attempt), undefined, `${name}: no runs`);
      }
    },
  },
  appendOutput: {
    'pieces in order; bytes counts what is stored': async (stores) => {
      const jobId = `j-${uuidv7()}`;
      await stores.outputs.beginOutput(jobId, 1, 1);
      await stores.outputs.appendOutput(jobId, 1, 0, bytes('abc'));
      await stores.outputs.appendOutput(jobId, 1, 3, Buffer.from([0, 255, 10]));
      const record = await stores.outputs.getOutput(jobId, 1);
      assert.equal(record?.bytes, 6);
      assert.equal(record?.complete, false);
      assert.deepEqual([...(await stores.outputs.readOutput(jobId, 1, 2, 10))], [99, 0, 255, 10], 'binary bytes as written');
    },
  },
  keepOutputRuns: {
    'kept with the output, replaced when kept again, gone with a restarted copy': async ({ outputs }) => {
      const jobId = `j-${uuidv7()}`;
      await outputs.beginOutput(jobId, 1, 10);
      await outputs.keepOutputRuns(jobId, 1, Uint8Array.from([0x0c, 0x81, 0x01]));
      await outputs.keepOutputRuns(jobId, 1, Uint8Array.from([0x0d]));
      assert.deepEqual([...((await outputs.readOutputRuns(jobId, 1)) ?? [])], [0x0d]);
      await outputs.beginOutput(jobId, 1, 11);
      assert.equal(await outputs.readOutputRuns(jobId, 1), undefined, 'an interrupted copy starts again without them');
    },
  },
  readOutputRuns: {
    'undefined for an output not kept apart; gone when pruned or forgotten': async (stores) => {
      const { outputs } = stores;
      const base = 2_000_000 + Math.floor(Math.random() * 1e9);
      const plain = await kept(stores, ['x'], base);
      assert.equal(await outputs.readOutputRuns(plain, 1), undefined);
      const split = await kept(stores, ['y'], base);
      await outputs.keepOutputRuns(split, 1, Uint8Array.from([0x05]));
      assert.deepEqual([...((await outputs.readOutputRuns(split, 1)) ?? [])], [0x05]);
      assert.equal(await outputs.pruneOutputs({ jobIds: [split] }, 'test', 10, base + 1), 1);
      assert.equal(await outputs.readOutputRuns(split, 1), undefined, 'pruned');
      const other = await kept(stores, ['z'], base);
      await outputs.keepOutputRuns(other, 1, Uint8Array.from([0x05]));
      await outputs.forgetOutputs([other]);
      assert.equal(await outputs.readOutputRuns(other, 1), undefined, 'forgotten');
    },
  },
  completeOutput: {
    'records the size, the cut and when': async ({ outputs }) => {
      const jobId = `j-${uuidv7()}`;
      await outputs.beginOutput(jobId, 2, 100);
      await outputs.appendOutput(jobId, 2, 0, bytes('xy'));
      await outputs.completeOutput(jobId, 2, 2, true, 150);
      assert.deepEqual(await outputs.getOutput(jobId, 2), {
        jobId,
        attempt: 2,
        bytes: 2,
        complete: true,
        truncated: true,
        createdAt: 100,
        completedAt: 150,
        prunedAt: null,
        prunedReason: '',
      });
    },
  },
  missingOutputs: {
    // The attempts it finds are made by real jobs in test/output-catch-up.test.ts.
    'none for no workers, or workers without ended attempts': async ({ outputs }) => {
      assert.deepEqual(await outputs.missingOutputs([], Date.now(), 10), []);
      assert.deepEqual(await outputs.missingOutputs([`w-${uuidv7()}`], Date.now(), 10), []);
    },
    'an attempt lost before it was recorded running (its worker may have held that report) is found': async ({ jobs, outputs }) => {
      const workerId = `w-${uuidv7()}`;
      const job = await dispatchedJob(jobs, workerId);
      await jobs.applyStatus(job.id, 1, workerId, 'disconnect', { state: 'unknown' }, Date.now());
      assert.equal((await jobs.applyStatus(job.id, 1, workerId, 'lose', { state: 'lost' }, Date.now())).applied, true);
      assert.deepEqual(await outputs.missingOutputs([workerId], Date.now(), 10), [{ jobId: job.id, attempt: 1, workerId }]);
    },
  },
  getOutput: {
    'undefined when no copy was begun': async ({ outputs }) => {
      assert.equal(await outputs.getOutput(`j-${uuidv7()}`, 1), undefined);
    },
  },
  readOutput: {
    'any window across pieces; nothing past the end': async (stores) => {
      const jobId = await kept(stores, ['0123', '4567', '89'], 5);
      const read = async (offset: number, max: number): Promise<string> => (await stores.outputs.readOutput(jobId, 1, offset, max)).toString();
      assert.equal(await read(0, 100), '0123456789');
      assert.equal(await read(3, 4), '3456');
      assert.equal(await read(4, 4), '4567');
      assert.equal(await read(9, 4), '9');
      assert.equal(await read(10, 4), '');
      assert.equal(await read(0, 0), '');
    },
  },
  pruneOutputs: {
    'by age, oldest first, at most `batch` a call; pruned ones say when and why': async (stores) => {
      const base = 1_000_000 + Math.floor(Math.random() * 1e9);
      const old1 = await kept(stores, ['a'], base + 1);
      const old2 = await kept(stores, ['b'], base + 2);
      const young = await kept(stores, ['c'], base + 10);
      const jobIds = [old1, old2, young];
      assert.equal(await stores.outputs.pruneOutputs({ completedBefore: base + 5, jobIds }, 'older than 1h', 1, base + 20), 1);
      assert.equal((await stores.outputs.getOutput(old1, 1))?.prunedAt, base + 20);
      assert.equal((await stores.outputs.getOutput(old2, 1))?.prunedAt, null, 'the oldest went first');
      assert.equal(await stores.outputs.pruneOutputs({ completedBefore: base + 5, jobIds }, 'older than 1h', 10, base + 21), 1);
      assert.equal(await stores.outputs.pruneOutputs({ completedBefore: base + 5, jobIds }, 'older than 1h', 10, base + 22), 0);
      const pruned = await stores.outputs.getOutput(old2, 1);
      assert.equal(pruned?.prunedReason, 'older than 1h');
      assert.equal(pruned?.bytes, 1, 'the size it had is kept');
      assert.equal((await stores.outputs.readOutput(old2, 1, 0, 10)).length, 0);
      assert.equal((await stores.outputs.readOutput(young, 1, 0, 10)).toString(), 'c');
      assert.equal(await stores.outputs.beginOutput(old2, 1, base + 30), false, 'a pruned output is not copied again');
    },
    'within a byte budget, oldest first': async (stores) => {
      // Older than every other case's outputs, so they are the oldest the budget finds.
      const base = -1000;
      const ids = [await kept(stores, ['x'.repeat(100)], base), await kept(stores, ['y'.repeat(100)], base + 1), await kept(stores, ['z'.repeat(100)], base + 2)];
      const others = (await stores.outputs.keptOutputBytes()) - 300;
      assert.equal(await stores.outputs.pruneOutputs({ keepBytes: others + 150 }, 'over the 150 B budget', 10, base + 3), 2);
      assert.deepEqual(
        await Promise.all(ids.map(async (id) => (await stores.outputs.getOutput(id, 1))?.prunedAt !== null)),
        [true, true, false],
        'the two oldest went; 100 B kept',
      );
      assert.equal(await stores.outputs.pruneOutputs({ keepBytes: others + 150 }, 'budget', 10, base + 4), 0, 'within the budget now');
    },
    'at most maxBytes a call, but always one output, however large': async (stores) => {
      const base = 3_000_000 + Math.floor(Math.random() * 1e9);
      const jobIds = [await kept(stores, ['x'.repeat(60)], base), await kept(stores, ['y'.repeat(60)], base + 1), await kept(stores, ['z'.repeat(500)], base + 2)];
      const prune = (maxBytes: number, now: number): Promise<number> => stores.outputs.pruneOutputs({ jobIds, maxBytes }, 'test', 10, now);
      assert.equal(await prune(130, base + 10), 2, '60 + 60 fit in 130, 500 more do not');
      assert.equal(await prune(100, base + 11), 1, 'one output larger than maxBytes still goes');
      assert.equal(await prune(100, base + 12), 0);
    },
  },
  forgetOutputs: {
    'no trace of those jobs is left; others are kept': async (stores) => {
      const gone = await kept(stores, ['abc'], 3);
      const alsoGone = await kept(stores, ['ghi'], 3);
      const stays = await kept(stores, ['def'], 3);
      await stores.outputs.forgetOutputs([gone, alsoGone]);
      await stores.outputs.forgetOutputs([]);
      for (const id of [gone, alsoGone]) {
        assert.equal(await stores.outputs.getOutput(id, 1), undefined);
        assert.equal((await stores.outputs.readOutput(id, 1, 0, 10)).length, 0);
      }
      assert.equal((await stores.outputs.readOutput(stays, 1, 0, 10)).toString(), 'def');
    },
  },
  keptOutputBytes: {
    'complete, unpruned outputs only': async (stores) => {
      const before = await stores.outputs.keptOutputBytes();
      const jobId = await kept(stores, ['12345'], 7);
      const incomplete = `j-${uuidv7()}`;
      await stores.outputs.beginOutput(incomplete, 1, 7);
      await stores.outputs.appendOutput(incomplete, 1, 0, bytes('zzz'));
      assert.equal(await stores.outputs.keptOutputBytes(), before + 5);
      await stores.outputs.pruneOutputs({ jobIds: [jobId] }, 'gone', 10, 8);
      assert.equal(await stores.outputs.keptOutputBytes(), before);
    },
  },
});
