// Upgrades: today's `baton worker` takes back jobs run by the job supervisor of protocol
// version 1 or 2 (frozen copies in test/fixtures/supervisor-v1 and -v2, see their READMEs), as
// a user who upgrades the worker while jobs run has it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { baton } from './support/cli.js';
import { startScheduler, startWorker, jobsDir, tempDir, getJson, eventually, waitForFinal, submitJob } from './harness.js';

type Json = Record<string, unknown>;

/** The frozen supervisor of a protocol version, run from the source tree (dist/test/ is two levels down from the repository). */
function frozen(version: number): string {
  return fileURLToPath(new URL(`../../test/fixtures/supervisor-v${version}/spawner-main.js`, import.meta.url));
}

/** Starts the frozen supervisor of `version` on `dataDir` for `workerId`, as the released worker started it; resolves with its pid once it listens. */
async function startFrozenSupervisor(version: number, dataDir: string, workerId: string): Promise<number> {
  const config = { workerId, socketPath: path.join(dataDir, 'supervisor.sock'), endsDir: path.join(dataDir, 'ends'), windowMs: 60_000, graceMs: 1_000 };
  const child = spawn(process.execPath, [frozen(version), JSON.stringify(config)], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the frozen supervisor exited at start (${code})`)));
    child.stdout!.once('data', () => resolve());
  });
  child.removeAllListeners('exit');
  child.stdout!.destroy();
  child.unref();
  return child.pid!;
}

describe('supervisor upgrade', () => {
  for (const version of [1, 2]) {
    it(`today's worker runs jobs under a supervisor of protocol version ${version} and, SIGKILLed and started again, takes them back with their output and recorded ends`, async () => {
      const lines = 300;
      const jobs = jobsDir({
        // Its last line waits for a file: it must still run under the frozen supervisor when the worker is back, however slow the machine.
        'writer.sh': `#!/bin/bash\nfor i in $(seq 1 ${lines}); do echo "line $i"; sleep 0.01; done\nwhile [ ! -e "$(dirname "$0")/finish" ]; do sleep 0.05; done\necho end\n`,
        'seven.sh': '#!/bin/bash\nwhile [ ! -e "$(dirname "$0")/go" ]; do sleep 0.05; done\nexit 7\n',
      });
      const scheduler = await startScheduler();
      const dataDir = tempDir('baton-worker-');
      const id = `w-frozen${version}`;
      writeFileSync(path.join(dataDir, 'worker-id'), `${id}\n`);
      const supervisor = await startFrozenSupervisor(version, dataDir, id);

      const worker = await startWorker(scheduler, { id, dataDir, jobsDir: jobs });
      const connected = await worker.waitForLog((l) => l.msg === 'connected to the job supervisor');
      assert.equal(connected.supervisor_pid, supervisor, 'the worker talks to the frozen supervisor, not one of its own');
      assert.equal(connected.protocol, version);
      const writer = await submitJob(scheduler.api, { worker_id: id, command: 'bash', path: 'writer.sh' });
      const seven = await submitJob(scheduler.api, { worker_id: id, command: 'bash', path: 'seven.sh' });
      await eventually(async () => {
        for (const job of [writer, seven]) if ((await getJson(`${scheduler.api}/v1/jobs/${job}`)).json.state !== 'running') return undefined;
        return true;
      }, 'both jobs running');

      await worker.kill('SIGKILL');
      writeFileSync(path.join(jobs, 'go'), '');
      const ends = path.join(dataDir, 'ends');
      await eventually(async () => (existsSync(ends) && readdirSync(ends).some((f) => f.endsWith('.json')) ? true : undefined), 'the frozen supervisor to record the exit-7 end');
      const again = await startWorker(scheduler, { id, dataDir, jobsDir: jobs });
      assert.equal((await again.waitForLog((l) => l.msg === 'connected to the job supervisor')).supervisor_pid, supervisor);
      await again.waitForLog((l) => l.msg === 'took back the jobs the last worker process left to its supervisor' && l.running === 1 && l.ended === 1);
      writeFileSync(path.join(jobs, 'finish'), '');

      const done = await waitForFinal(scheduler.api, writer);
      assert.equal(done.state, 'succeeded', JSON.stringify(done));
      assert.equal((done.attempts as Json[]).length, 1);
      const output = await (await fetch(`${scheduler.api}/v1/jobs/${writer}/output`)).text();
      assert.equal(output, `${Array.from({ length: lines }, (_, i) => `line ${i + 1}\n`).join('')}end\n`, 'every line once, in order');
      const failed = await waitForFinal(scheduler.api, seven);
      assert.equal(failed.state, 'failed', JSON.stringify(failed));
      assert.equal(failed.exit_code, 7);
      assert.equal((failed.attempts as Json[]).length, 1);

      // A version-1 or -2 supervisor writes stdout and stderr together: one stream alone is refused
      // with a reason, and `baton run` follows such a job's output whole on its stdout.
      const oneStream = await fetch(`${scheduler.api}/v1/jobs/${writer}/output?stream=stderr`);
      const refusal = (await oneStream.json()) as Json;
      assert.deepEqual([oneStream.status, refusal.code], [409, 'output_not_split'], JSON.stringify(refusal));
      assert.match(String(refusal.error), /earlier release/);
      const search = await fetch(`${scheduler.api}/v1/jobs/${writer}/output/search?q=line&stream=stdout`);
      assert.deepEqual([search.status, ((await search.json()) as Json).code], [409, 'output_not_split'], 'nor searched');
      const run = await baton(['run', '--worker', id, '--', 'bash', '-c', 'echo out; echo err >&2'], { api: scheduler.api });
      assert.deepEqual([run.code, run.stdout], [0, 'out\nerr\n'], run.stderr);

      await again.kill('SIGTERM');
      await eventually(async () => (isGone(supervisor) ? true : undefined), 'the frozen supervisor to exit on shutdown');
      await scheduler.kill();
    });
  }
});

function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}
