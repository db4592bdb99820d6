// A worker host installs Baton without its optional database drivers (`npm ci --omit=optional`):
// a worker starts and runs jobs when better-sqlite3 and pg cannot be loaded, and a scheduler
// in the same state says in one line what is missing. The drivers are made unloadable by a
// module hook in the process (fault injection), nothing else is changed.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { BatonClient } from '../src/client/index.js';
import { startProcess, startScheduler, startWorker, tempDir, type SchedulerHandle } from './harness.js';

const NO_DB_DRIVERS = pathToFileURL(fileURLToPath(new URL('./support/no-db-drivers.js', import.meta.url))).href;

/** Runs `start` with the processes it spawns unable to load the database drivers. */
async function withoutDbDrivers<T>(start: () => Promise<T>): Promise<T> {
  const before = process.env.NODE_OPTIONS;
  process.env.NODE_OPTIONS = `${before ?? ''} --import=${NO_DB_DRIVERS}`.trim();
  try {
    return await start();
  } finally {
    if (before === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = before;
  }
}

describe('a host without the database drivers', () => {
  let scheduler: SchedulerHandle;

  before(async () => {
    scheduler = await startScheduler();
  });

  it('runs a worker that registers and runs a job', async () => {
    const worker = await withoutDbDrivers(() => startWorker(scheduler));
    const client = new BatonClient({ address: scheduler.api });
    const job = await client.run({ worker_id: worker.id, command: 'bash', args: ['-c', 'echo ran without sqlite'] });
    assert.equal(await job.output(), 'ran without sqlite\n');
    assert.equal((await job.result()).state, 'succeeded');
  });

  it('cannot run a scheduler, and the scheduler says which driver is missing', async () => {
    const proc = await withoutDbDrivers(async () =>
      startProcess('scheduler', ['scheduler', '--http', '127.0.0.1:0', '--grpc', '127.0.0.1:0', '--data-dir', tempDir('baton-scheduler-'), '--no-auth', '--insecure']),
    );
    const { code } = await proc.exited;
    assert.notEqual(code, 0);
    const output = proc.output.join('');
    assert.match(output, /the database driver better-sqlite3 is not installed: a scheduler needs it/, output);
  });
});
