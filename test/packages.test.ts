// The packages as npm packs them. The server ships its build, not its tests or benches, and
// its database drivers are optional (a worker host goes without). The client packs with no
// dependency, installs from its tarball alone into an empty project, type-checks there with
// nothing but TypeScript's own library, and runs jobs on a real scheduler and worker.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { allowedImport, importedModules } from '../scripts/build-client.js';
import { JOB_STATES } from '../src/client/index.js';
import { startScheduler, startWorker, tempDir, type SchedulerHandle } from './harness.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

interface PackResult {
  filename: string;
  files: Array<{ path: string }>;
}

/**
 * npm in `cwd`, as a user runs it. Under `npm test` the environment carries npm's own settings
 * (npm_config_local_prefix names this checkout): they are left out, or the empty project's
 * install could land in the checkout.
 */
async function npm(cwd: string, args: string[]): Promise<string> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_') && key !== 'INIT_CWD'));
  Object.assign(env, { npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' });
  const { stdout } = await run('npm', args, { cwd, maxBuffer: 64 * 1024 * 1024, env });
  return stdout;
}

interface Manifest {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  scripts?: Record<string, string>;
}

describe('the server package', () => {
  it('packs its build, the dashboard, protos and the addon source, and no test, bench or source', async () => {
    const [packed] = JSON.parse(await npm(ROOT, ['pack', '--dry-run', '--json', '--ignore-scripts'])) as PackResult[];
    const files = packed!.files.map((f) => f.path);
    for (const needed of [
      'package.json',
      'dist/src/cli/main.js',
      'dist/src/client/index.js',
      'dist/dashboard/index.html',
      'proto/baton/v1/worker.proto',
      'binding.gyp',
      'native/spawn.c',
    ]) {
      assert.ok(files.includes(needed), `${needed} is missing from the package`);
    }
    const unwanted = files.filter((f) => /(^|\/)(test|bench|scripts)\//.test(f) || /\.test\./.test(f) || /^(src|web|packages)\//.test(f));
    assert.deepEqual(unwanted, []);
  });

  it('leaves the database drivers optional: a worker host installs without them', () => {
    const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Manifest;
    for (const driver of ['better-sqlite3', 'pg']) {
      assert.equal(manifest.dependencies?.[driver], undefined, `${driver} is a required dependency`);
      assert.ok(manifest.optionalDependencies?.[driver], `${driver} is not an optional dependency`);
    }
  });
});

describe('the client package', () => {
  let scheduler: SchedulerHandle;
  let tarball: string;
  let unpacked: string;
  let project: string;

  before(async () => {
    scheduler = await startScheduler();
    await startWorker(scheduler);
    const out = tempDir('baton-client-pack-');
    // `npm pack` runs the package's prepack: build-client.js from src/client.
    const [packed] = JSON.parse(await npm(path.join(ROOT, 'packages', 'client'), ['pack', '--json', '--pack-destination', out])) as PackResult[];
    tarball = path.join(out, packed!.filename);
    unpacked = tempDir('baton-client-tgz-');
    await run('tar', ['-xzf', tarball, '-C', unpacked]);
    project = tempDir('baton-client-user-');
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'uses-baton', private: true, type: 'module' }));
    // --prefix pins the install to the empty project, and --ignore-scripts proves the client
    // needs no lifecycle script of its own.
    await npm(project, ['install', '--offline', '--no-package-lock', '--ignore-scripts', '--prefix', project, tarball]);
  });

  it('has no dependency and no install script', () => {
    const manifest = JSON.parse(readFileSync(path.join(unpacked, 'package', 'package.json'), 'utf8')) as Manifest;
    assert.deepEqual(manifest.dependencies ?? {}, {});
    assert.equal(manifest.optionalDependencies, undefined);
    assert.equal(manifest.peerDependencies, undefined);
    for (const script of ['preinstall', 'install', 'postinstall']) assert.equal(manifest.scripts?.[script], undefined, script);
    // The empty project holds the client and nothing else.
    assert.deepEqual(
      readdirSync(path.join(project, 'node_modules')).filter((n) => !n.startsWith('.')),
      ['@baton'],
    );
    assert.deepEqual(readdirSync(path.join(project, 'node_modules', '@baton')), ['client']);
  });

  it('imports only node: modules and its own files', () => {
    const dist = path.join(unpacked, 'package', 'dist');
    const files = readdirSync(dist);
    assert.ok(files.includes('index.js') && files.includes('index.d.ts') && files.includes('api.d.ts'), files.join(' '));
    const own = new Set(files);
    for (const file of files.filter((f) => f.endsWith('.js'))) {
      const imports = importedModules(readFileSync(path.join(dist, file), 'utf8'));
      assert.deepEqual(
        imports.filter((m) => !allowedImport(m, own)),
        [],
        file,
      );
    }
    assert.ok(!files.some((f) => f.includes('.test.')), files.join(' '));
  });

  it('type-checks in a project with no @types and runs jobs on a real cluster: run, output, result, stop', async () => {
    writeFileSync(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2023', 'DOM', 'DOM.AsyncIterable'], types: [], outDir: '.' },
        files: ['use-client.ts', 'misuse.ts'],
      }),
    );
    writeFileSync(
      path.join(project, 'use-client.ts'),
      `import { BatonApiError, BatonClient, type JobDetail } from '@baton/client';

declare const process: { argv: string[]; stdout: { write(text: string): boolean } };

const baton = new BatonClient({ address: process.argv[2] });
const job = await baton.run({ command: 'bash', args: ['-c', 'echo out; echo err >&2; exit 3'] });
const output: string = await job.output();
const result: JobDetail = await job.result();

const long = await baton.run({ command: 'bash', args: ['-c', 'echo started; exec sleep 300'] });
for await (const chunk of long.outputStream()) if (new TextDecoder().decode(chunk).includes('started')) break;
await long.stop({ graceMs: 2000 });
const stopped = await long.result();
let stopAgain = '';
try {
  await long.stop();
} catch (err) {
  if (err instanceof BatonApiError) stopAgain = err.code ?? '';
}
process.stdout.write(JSON.stringify({ output, state: result.state, exit_code: result.exit_code, stopped: stopped.state, stopAgain }));
`,
    );
    // The types are the API's own, not \`any\`: a wrong use is refused.
    writeFileSync(path.join(project, 'misuse.ts'), `import { BatonClient } from '@baton/client';\nexport const typo = (await new BatonClient().getJob('x')).state === 'runing';\n`);
    const checked = await run(process.execPath, [TSC, '-p', '.'], { cwd: project }).then(
      () => '',
      (err: { stdout: string }) => err.stdout,
    );
    const errors = checked.split('\n').filter((l) => l.includes('error TS'));
    assert.equal(errors.length, 1, checked);
    assert.match(errors[0]!, /^misuse\.ts\(2,\d+\): error TS2367: .* the types '(.*)' and '"runing"' have no overlap/, checked);
    assert.deepEqual(/types '(.*)' and/.exec(errors[0]!)![1]!.split(' | ').sort(), JOB_STATES.map((s) => `"${s}"`).sort());

    const { stdout } = await run(process.execPath, ['use-client.js', scheduler.api], { cwd: project });
    assert.deepEqual(JSON.parse(stdout), { output: 'out\nerr\n', state: 'failed', exit_code: 3, stopped: 'stopped', stopAgain: 'wrong_state' });
  });

  it('runs the README example as written, against the test scheduler', async () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## TypeScript client'));
    const example = /```ts\n([\s\S]*?)```/.exec(section.slice(0, section.indexOf('\n## ')))![1]!;
    assert.ok(example.includes("'http://127.0.0.1:7070'"), example);
    writeFileSync(path.join(project, 'readme-example.ts'), example.replace("'http://127.0.0.1:7070'", JSON.stringify(scheduler.api)));
    writeFileSync(
      path.join(project, 'tsconfig.readme.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2023'],
          typeRoots: [path.join(ROOT, 'node_modules', '@types')],
          types: ['node'],
          outDir: '.',
        },
        files: ['readme-example.ts'],
      }),
    );
    await run(process.execPath, [TSC, '-p', 'tsconfig.readme.json'], { cwd: project }).catch((err: { stdout: string }) => assert.fail(err.stdout));
    const { stdout } = await run(process.execPath, ['readme-example.js'], { cwd: project, env: { ...process.env, BATON_TOKEN: '' } });
    const lines = stdout.split('\n');
    assert.deepEqual(lines.slice(0, 4), ['hi', '', 'failed 3', 'started'], stdout);
    assert.match(stdout, /already ended \(failed\)\n$/, stdout);
  });
});

describe('the build checks of the client package', () => {
  it('finds every module a built file imports', () => {
    const js = [
      "import { a } from './a.js';",
      'export { b } from "./b.js";',
      "export * from './c.js';",
      "import './d.js';",
      "const e = await import('node:fs');",
      "import {\n  f,\n  g,\n} from 'typebox';",
    ].join('\n');
    assert.deepEqual(importedModules(js), ['./a.js', './b.js', './c.js', './d.js', 'node:fs', 'typebox']);
  });

  it('allows node: modules and its own files, nothing else', () => {
    const own = new Set(['a.js']);
    const cases: Array<[string, boolean]> = [
      ['node:fs', true],
      ['./a.js', true],
      ['./missing.js', false],
      ['../api/jobs.js', false],
      ['./sub/a.js', false],
      ['typebox', false],
      ['fs', false],
    ];
    for (const [specifier, allowed] of cases) assert.equal(allowedImport(specifier, own), allowed, specifier);
  });
});
