/**
 * `node dist/bench/store-cpu.js [jobs] [per-commit]`: the job store alone, in this process, on a
 * fresh SQLite file: the CPU each job's writes take as the e2e bench makes them (created placed,
 * then running, then succeeded with an empty output), `per-commit` jobs at a time so that their
 * writes share group commits as 8 submissions in flight do. No HTTP, gRPC or log line: what is
 * left is the store's JavaScript and SQLite. Compare builds in the same session, interleaved.
 */
import { cpuUsage } from 'node:process';
import path from 'node:path';
import { uuidv7 } from '../src/common/ids.js';
import { DEFAULT_RETRY } from '../src/scheduler/retry-policy.js';
import { openStores, type Stores } from '../src/scheduler/store/stores.js';
import { cleanUp, tempDir } from '../test/support/cluster.js';
import { fmt } from './report.js';

const [jobsArg = '3000', perCommitArg = '8'] = process.argv.slice(2);
const JOBS = Number(jobsArg);
const PER_COMMIT = Number(perCommitArg);
const WORKER = 'w-1';

async function oneJob(stores: Stores): Promise<void> {
  const id = uuidv7();
  const now = Date.now();
  await stores.jobs.createJobs([
    {
      id,
      workerId: WORKER,
      command: 'true',
      path: 'noop.sh',
      args: [],
      env: {},
      cwd: '',
      createdAt: now,
      submittedBy: 'anonymous',
      labels: {},
      priority: 0,
      retry: DEFAULT_RETRY,
      pinnedWorker: WORKER,
      sandbox: {},
    },
  ]);
  await stores.jobs.applyStatus(id, 1, WORKER, 'start', { state: 'running', startedAt: now }, Date.now());
  const end = stores.jobs.applyStatus(
    id,
    1,
    WORKER,
    'finish',
    { state: 'succeeded', exitCode: 0, signal: '', error: '', outputTruncated: false, finishedAt: Date.now() },
    Date.now(),
  );
  await Promise.all([end, stores.outputs.keepEndedOutput(id, 1, { workerId: WORKER, state: 'succeeded' }, { data: new Uint8Array(0), truncated: false }, Date.now())]);
}

const cpuMs = (): number => {
  const { user, system } = cpuUsage();
  return (user + system) / 1000;
};

const stores = await openStores(`sqlite:${path.join(tempDir('baton-store-cpu-'), 'baton.db')}`);
for (let i = 0; i < 300; i++) await oneJob(stores); // warm up
const cpu0 = cpuMs();
for (let done = 0; done < JOBS; done += PER_COMMIT) await Promise.all(Array.from({ length: PER_COMMIT }, () => oneJob(stores)));
console.log(`${fmt(JOBS)} jobs, ${PER_COMMIT} at a time: ${fmt((cpuMs() - cpu0) / JOBS, 3)} ms of CPU per job`);
await stores.close();
await cleanUp();
