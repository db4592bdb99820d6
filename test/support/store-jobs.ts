// Jobs for the store's conformance cases: one to create, or one created and dispatched.
import assert from 'node:assert/strict';
import { uuidv7 } from '../../src/common/ids.js';
import { DEFAULT_RETRY } from '../../src/scheduler/retry-policy.js';
import type { JobStore, NewJob } from '../../src/scheduler/store/job-store.js';

/** A job to create, made at `now`. */
export function newJob(now = Date.now()): NewJob {
  return {
    id: uuidv7(now),
    command: 'bash',
    path: 'scripts/count.sh',
    args: ['a'],
    env: { K: 'v' },
    cwd: '',
    createdAt: now,
    submittedBy: 'ci',
    labels: { gpu: 'true' },
    priority: 3,
    retry: { ...DEFAULT_RETRY, maxAttempts: 2 },
    pinnedWorker: '',
    sandbox: { network: 'none' },
  };
}

/** A job created and dispatched to `workerId`. */
export async function dispatchedJob(jobs: JobStore, workerId = 'w-1', now = Date.now()): Promise<NewJob> {
  const job = newJob(now);
  await jobs.createJob(job);
  assert.ok(await jobs.markDispatched(job.id, 1, workerId, now));
  return job;
}
