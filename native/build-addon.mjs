// The package's `install` script: builds the job launcher addon (native/spawn.c) with node-gyp,
// unless the build on disk was made from the same sources for the same Node ABI.
//
// Why not plain `node-gyp rebuild`: npm runs `install` more often than the sources change. The
// first `npx baton` in a checkout installs the checkout into npx's cache as a link and runs its
// `install` there, in the checkout: a rebuild deletes build/ under any worker that is starting.
// `npm rebuild` (or BATON_REBUILD_ADDON=1) still forces a build.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const addon = path.join(root, 'build', 'Release', 'baton_spawn.node');
const stamp = path.join(root, 'build', 'Release', 'baton_spawn.sources');

const hash = createHash('sha256');
for (const file of ['native/spawn.c', 'binding.gyp']) hash.update(readFileSync(path.join(root, file)));
hash.update(`${process.platform} ${process.arch} abi ${process.versions.modules}`);
const sources = hash.digest('hex');

const forced = process.env.npm_command === 'rebuild' || process.env.BATON_REBUILD_ADDON === '1';
if (!forced && existsSync(addon) && existsSync(stamp) && readFileSync(stamp, 'utf8') === sources) {
  console.log('baton: the job launcher addon is built from these sources already (npm rebuild forces a build)');
  process.exit(0);
}

// npm names the node-gyp it ships in npm_config_node_gyp; outside npm, node-gyp must be on PATH.
const gyp = process.env.npm_config_node_gyp;
const built = gyp ? spawnSync(process.execPath, [gyp, 'rebuild'], { cwd: root, stdio: 'inherit' }) : spawnSync('node-gyp', ['rebuild'], { cwd: root, stdio: 'inherit' });
if (built.error || built.status !== 0) {
  console.error(`baton: building the job launcher addon failed (${built.error?.message ?? `node-gyp exited ${built.status}`}): it needs python3, make and a C compiler`);
  process.exit(1);
}
writeFileSync(stamp, sources);
