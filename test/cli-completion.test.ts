// Tab completion of job and worker ids: the real bash script from `baton completion bash`,
// run by bash, calling the real `baton __complete` against a real scheduler and worker.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { startScheduler, startWorker, tempDir, type SchedulerHandle, type WorkerHandle } from './harness.js';
import { baton, MAIN } from './support/cli.js';

describe('shell completion of job and worker ids', () => {
  let scheduler: SchedulerHandle;
  let worker: WorkerHandle;
  let jobId: string;
  let script: string;
  let bin: string;

  before(async () => {
    scheduler = await startScheduler();
    worker = await startWorker(scheduler);
    const r = await baton(['run', '--detach', '--', 'true'], { api: scheduler.api });
    assert.equal(r.code, 0, r.stderr);
    jobId = r.stdout.trim();
    const dir = tempDir();
    // `baton` on PATH, as the completion script calls it.
    bin = path.join(dir, 'bin');
    await promisify(execFile)('mkdir', ['-p', bin]);
    writeFileSync(path.join(bin, 'baton'), `#!/bin/sh\nexec "${process.execPath}" "${MAIN}" "$@"\n`);
    chmodSync(path.join(bin, 'baton'), 0o755);
    script = path.join(dir, 'baton.bash');
    const completion = await baton(['completion', 'bash']);
    assert.equal(completion.code, 0, completion.stderr);
    writeFileSync(script, completion.stdout);
  });
  after(() => Promise.all([worker.kill(), scheduler.kill()]));

  /** What bash offers for the line `words` (the last one being completed), one a line. */
  async function complete(words: string[], addr: string = scheduler.api): Promise<string[]> {
    const line = words.map((w) => `'${w}'`).join(' ');
    const program = `source '${script}'; COMP_WORDS=(${line}); COMP_CWORD=${words.length - 1}; _baton; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}:${process.env.PATH}`, BATON_ADDR: addr };
    delete env.BATON_TOKEN;
    const { stdout, stderr } = await promisify(execFile)('bash', ['-c', program], { env });
    assert.equal(stderr, '');
    return stdout.split('\n').filter(Boolean);
  }

  it('job ids for status, logs, stop and wait, and for events --job', async () => {
    for (const command of ['status', 'logs', 'stop', 'wait']) assert.deepEqual(await complete(['baton', command, '']), [jobId], command);
    assert.deepEqual(await complete(['baton', 'status', jobId.slice(0, 8)]), [jobId]);
    assert.deepEqual(await complete(['baton', 'events', '--job', '']), [jobId]);
  });

  it('worker ids for drain, undrain and workers rm, and for --worker / -w', async () => {
    assert.deepEqual(await complete(['baton', 'drain', '']), [worker.id]);
    assert.deepEqual(await complete(['baton', 'workers', 'rm', '']), [worker.id]);
    assert.deepEqual(await complete(['baton', 'undrain', '']), [worker.id]);
    assert.deepEqual(await complete(['baton', 'ps', '-w', '']), [worker.id]);
    assert.deepEqual(await complete(['baton', 'run', '--worker', '']), [worker.id]);
  });

  it('the --addr on the line is the scheduler asked, before or after the subcommand', async () => {
    const nowhere = 'http://127.0.0.1:9';
    assert.deepEqual(await complete(['baton', 'status', ''], nowhere), []);
    assert.deepEqual(await complete(['baton', '--addr', scheduler.api, 'status', ''], nowhere), [jobId]);
    assert.deepEqual(await complete(['baton', 'drain', '--addr', scheduler.api, ''], nowhere), [worker.id]);
  });

  it('subcommands and flags as before; the id helper is never offered', async () => {
    assert.deepEqual(await complete(['baton', 'st']), ['status', 'stop']);
    assert.deepEqual(await complete(['baton', '__']), []);
    assert.deepEqual(await complete(['baton', 'status', '--j']), ['--json']);
  });

  it('baton __complete prints nothing and exits 0 when the scheduler cannot be reached', async () => {
    const r = await baton(['__complete', 'jobs'], { api: 'http://127.0.0.1:9' });
    assert.deepEqual(r, { code: 0, stdout: '', stderr: '' });
    const ok = await baton(['__complete', 'workers'], { api: scheduler.api });
    assert.equal(ok.stdout, `${worker.id}\n`);
  });

  it('the fish script asks for ids the same way', async () => {
    const fish = (await baton(['completion', 'fish'])).stdout.split('\n');
    assert.ok(fish.includes("complete -c baton -n '__fish_seen_subcommand_from status' -f -a '(__baton_ids jobs)'"), fish.join('\n'));
    assert.ok(fish.includes("complete -c baton -n '__fish_seen_subcommand_from drain' -f -a '(__baton_ids workers)'"));
    assert.ok(fish.some((l) => l.startsWith("complete -c baton -n '__fish_seen_subcommand_from ps' -l worker -s w -x -a '(__baton_ids workers)'")));
    assert.ok(fish.includes('  baton __complete $argv[1] $pass 2>/dev/null'));
  });
});
