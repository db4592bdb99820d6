// The applier against a real SQLite store: a RUNNING report superseded within a burst
// (ranFirst) is still announced, before the end, on both the plain and the retry path.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { uuidv7 } from '../common/ids.js';
import { EventBus } from './events.js';
import { JobStatusApplier } from './job-status.js';
import { DEFAULT_RETRY, type RetryPolicy } from './retry-policy.js';
import { openStores, type Stores } from './store/stores.js';

describe('job status applier', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'baton-applier-'));
  let store: Stores;
  after(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A job placed on w-1 at creation (stored dispatched), and the states the bus announces for it from then on. */
  async function placedJob(retry: RetryPolicy = DEFAULT_RETRY): Promise<{ id: string; announced: string[]; applier: JobStatusApplier }> {
    store ??= await openStores(`sqlite:${path.join(dir, 'baton.db')}`);
    const id = uuidv7(Date.now());
    await store.jobs.createJobs([
      {
        id,
        command: 'true',
        path: '',
        args: [],
        env: {},
        cwd: '',
        createdAt: 1,
        submittedBy: 'ci',
        labels: {},
        priority: 0,
        retry,
        pinnedWorker: '',
        sandbox: {},
        workerId: 'w-1',
      },
    ]);
    const bus = new EventBus();
    const announced: string[] = [];
    bus.on('job', (job, previous) => job.id === id && announced.push(`${previous ?? '?'}→${job.state}#${job.attempt}`));
    return { id, announced, applier: new JobStatusApplier(store.jobs, bus, pino({ level: 'silent' }), () => 0) };
  }

  // [name, ranFirst, states announced]
  const table: [string, boolean, string[]][] = [
    ['an end reported alone: the end only', false, ['?→succeeded#1']],
    ['an end that superseded running: running, then the end', true, ['?→running#1', '?→succeeded#1']],
  ];
  for (const [name, ranFirst, want] of table) {
    it(name, async () => {
      const { id, announced, applier } = await placedJob();
      assert.ok(await applier.apply(id, 1, 'w-1', 'finish', { state: 'succeeded', exitCode: 0, startedAt: 5, finishedAt: 6 }, ranFirst));
      assert.deepEqual(announced, want);
      assert.equal((await store.jobs.getJob(id))?.attempts[0]?.startedAt, 5, 'the start time is kept from the end report');
    });
  }

  it('a failure that superseded running and is retried: running, then queued for attempt 2', async () => {
    const { id, announced, applier } = await placedJob({ ...DEFAULT_RETRY, maxAttempts: 2, on: ['failed'] });
    assert.ok(await applier.apply(id, 1, 'w-1', 'finish', { state: 'failed', exitCode: 1, startedAt: 5, finishedAt: 6 }, true));
    assert.deepEqual(announced, ['dispatched→running#1', 'running→queued#2']);
  });
});
