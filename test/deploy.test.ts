// The deployment files in deploy/: the example baton.toml sets every option and passes the
// strict config parser as `baton scheduler` and `baton worker` read it; the systemd units pass
// `systemd-analyze verify` (where it exists) and keep the settings the guide depends on.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { parse as parseToml } from 'smol-toml';
import type { Command } from 'commander';
import { schedulerCommand } from '../src/cli/scheduler.js';
import { workerCommand } from '../src/cli/worker.js';
import { applyConfigFile } from '../src/common/options.js';
import { tempDir } from './harness.js';
import { MAIN } from './support/cli.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLE = path.join(ROOT, 'deploy/baton.toml');
const UNITS = ['baton-scheduler.service', 'baton-worker.service'];

/** `command` with the example file applied as `--config` would; throws as the command would stop. */
function configured(command: Command, section: 'scheduler' | 'worker', file = EXAMPLE): Record<string, unknown> {
  command.setOptionValueWithSource('config', file, 'cli');
  applyConfigFile(command, section);
  return command.opts();
}

describe('deploy/baton.toml', () => {
  for (const [section, make] of [
    ['scheduler', schedulerCommand],
    ['worker', workerCommand],
  ] as const) {
    it(`[${section}] has a key for every option of baton ${section}, and each value parses`, () => {
      const doc = parseToml(readFileSync(EXAMPLE, 'utf8')) as Record<string, Record<string, unknown>>;
      const keys = new Set(Object.keys(doc[section] ?? {}).map((k) => k.replaceAll('_', '-')));
      // Not keys of their own: the file itself, a hidden switch (--auth undoes an earlier --no-auth on a
      // command line), and the repeatable flag form of allowed-commands.
      const other = new Set(['config', 'auth', 'allowed-command']);
      const missing = make()
        .options.map((o) => o.long!.slice(2))
        .filter((name) => !other.has(name) && !keys.has(name));
      assert.deepEqual(missing, [], `options with no key in [${section}]`);
      const opts = configured(make(), section);
      for (const key of keys) {
        const attribute = key.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase()).replace(/^no([A-Z])/, (_m, c: string) => c.toLowerCase());
        assert.notEqual(opts[attribute], undefined, `${key} is applied`);
      }
    });
  }

  it('values arrive as the flags would give them', () => {
    const scheduler = configured(schedulerCommand(), 'scheduler');
    assert.equal(scheduler.heartbeatTtl, 10_000);
    assert.equal(scheduler.bodyLimit, 1024 ** 2);
    assert.equal(scheduler.auth, true, 'no-auth = false keeps tokens on');
    const worker = configured(workerCommand(), 'worker');
    assert.equal(worker.advertise, '10.0.0.11:7072');
    assert.deepEqual(worker.label, { zone: 'eu-1', disk: 'ssd' });
    assert.equal(worker.drainTimeout, 30_000);
    assert.equal(worker.outputCap, 100 * 1024 ** 2);
    assert.equal(worker.metrics, '10.0.0.11:9102');
  });

  it('a misspelt key in a copy of it stops the command, naming the key', () => {
    const copy = path.join(tempDir('baton-deploy-'), 'baton.toml');
    writeFileSync(copy, readFileSync(EXAMPLE, 'utf8').replace('drain-timeout =', 'drain-timout ='));
    assert.throws(() => configured(workerCommand(), 'worker', copy), /unknown key "drain-timout" in \[worker\]; did you mean drain-timeout\?/);
  });
});

describe('deploy/systemd', () => {
  const unit = (name: string): string => readFileSync(path.join(ROOT, 'deploy/systemd', name), 'utf8');

  it('the worker unit delegates cgroups and leaves the supervisor and jobs alive when the worker process goes', () => {
    const worker = unit('baton-worker.service');
    assert.match(worker, /^Delegate=yes$/m);
    assert.match(worker, /^KillMode=process$/m);
    assert.match(worker, /^Restart=always$/m, 'restarted after SIGQUIT (an upgrade) too');
    assert.match(worker, /^ExecStart=\/usr\/local\/bin\/baton worker --config \/etc\/baton\/baton.toml$/m);
    assert.match(unit('baton-scheduler.service'), /^ExecStart=\/usr\/local\/bin\/baton scheduler --config \/etc\/baton\/baton.toml$/m);
  });

  it('systemd-analyze verify accepts both units without a warning', async (t) => {
    const found = await promisify(execFile)('systemd-analyze', ['--version']).then(
      () => true,
      () => false,
    );
    if (!found) {
      t.skip('systemd-analyze is not installed here: the units are not verified');
      return;
    }
    // verify checks that ExecStart's program exists: point it at this build's `baton`.
    const dir = tempDir('baton-units-');
    for (const name of UNITS) {
      writeFileSync(path.join(dir, name), unit(name).replaceAll('/usr/local/bin/baton', MAIN));
    }
    const result = await promisify(execFile)('systemd-analyze', ['verify', ...UNITS.map((n) => path.join(dir, n))]).then(
      ({ stdout, stderr }) => ({ code: 0, out: stdout + stderr }),
      (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: err.code ?? 1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` }),
    );
    assert.equal(result.code, 0, result.out);
    // A misspelt setting is only a warning ("Failed to parse …, ignoring"): none may name our units.
    const ours = result.out.split('\n').filter((l) => UNITS.some((n) => l.includes(n)));
    assert.deepEqual(ours, []);
  });
});
