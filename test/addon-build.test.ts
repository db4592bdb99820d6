// The package's install script builds the job launcher addon only when its sources changed:
// npm runs `install` far more often (the first `npx baton` in a checkout runs it there), and a
// rebuild deletes build/ under any worker starting at that moment. A stand-in node-gyp counts
// the builds, so this runs without a compiler.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './harness.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('the addon install script', () => {
  it('builds when the sources are new, or when forced, and otherwise leaves build/ alone', () => {
    const dir = tempDir('baton-addon-');
    mkdirSync(path.join(dir, 'native'));
    for (const file of ['native/spawn.c', 'native/build-addon.mjs', 'binding.gyp']) copyFileSync(path.join(ROOT, file), path.join(dir, file));
    const builds = path.join(dir, 'builds');
    const fakeGyp = path.join(dir, 'fake-node-gyp.cjs');
    writeFileSync(
      fakeGyp,
      `const fs = require('node:fs');
fs.mkdirSync('build/Release', { recursive: true });
fs.writeFileSync('build/Release/baton_spawn.node', 'addon');
fs.appendFileSync(${JSON.stringify(builds)}, process.argv[2] + '\\n');`,
    );
    const install = (env: Record<string, string> = {}) => {
      const r = spawnSync(process.execPath, ['native/build-addon.mjs'], { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH, npm_config_node_gyp: fakeGyp, ...env } });
      assert.equal(r.status, 0, r.stderr);
      return readFileSync(builds, 'utf8').split('\n').filter(Boolean).length;
    };
    assert.equal(install(), 1, 'no build yet: it builds');
    assert.equal(install(), 1, 'same sources: no build');
    appendFileSync(path.join(dir, 'native', 'spawn.c'), '\n/* changed */\n');
    assert.equal(install(), 2, 'spawn.c changed: it builds');
    assert.equal(install(), 2);
    assert.equal(install({ npm_command: 'rebuild' }), 3, 'npm rebuild forces a build');
    assert.equal(install({ BATON_REBUILD_ADDON: '1' }), 4, 'BATON_REBUILD_ADDON=1 forces a build');
    assert.deepEqual([...new Set(readFileSync(builds, 'utf8').split('\n').filter(Boolean))], ['rebuild']);
  });

  it('says what it needs when node-gyp fails', () => {
    const dir = tempDir('baton-addon-');
    mkdirSync(path.join(dir, 'native'));
    for (const file of ['native/spawn.c', 'native/build-addon.mjs', 'binding.gyp']) copyFileSync(path.join(ROOT, file), path.join(dir, file));
    const failing = path.join(dir, 'failing-node-gyp.cjs');
    writeFileSync(failing, 'process.exit(3);');
    const r = spawnSync(process.execPath, ['native/build-addon.mjs'], { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH, npm_config_node_gyp: failing } });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /building the job launcher addon failed \(node-gyp exited 3\): it needs python3, make and a C compiler/);
  });
});
