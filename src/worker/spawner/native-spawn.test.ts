// The baton_spawn addon against real processes: what a job gets (session, stdio, cwd,
// environment, signal dispositions), how its end is reported, and how a start fails.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, closeSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { processStartTime } from '../journal/proc-stat.js';
import { loadNativeSpawn, signalName, type NativeSpawn } from './native-spawn.js';

const ENV = ['PATH=/usr/bin:/bin'];

describe('native spawn', () => {
  let addon: NativeSpawn;
  let dir: string;

  before(() => {
    // npm ci builds it; a missing addon is a broken install, not a skipped test.
    addon = loadNativeSpawn();
    dir = mkdtempSync(path.join(tmpdir(), 'baton-native-spawn-'));
  });

  /** Runs `argv` to its end with output to a file; resolves what it wrote and how it ended. */
  function run(
    file: string,
    argv: string[],
    options: { env?: string[]; cwd?: string; uid?: number; gid?: number; inputFd?: number } = {},
  ): Promise<{ pid: number; output: string; code: number | null; signal: string | null }> {
    const outputPath = path.join(dir, `out-${Math.random().toString(36).slice(2)}`);
    const fd = openSync(outputPath, 'w');
    return new Promise((resolve) => {
      const onExit = (code: number | null, signal: number | null): void => {
        resolve({ pid, output: readFileSync(outputPath, 'utf8'), code, signal: signal === null ? null : signalName(signal) });
      };
      const { pid } =
        options.inputFd === undefined
          ? addon.spawn(file, argv, options.env ?? ENV, options.cwd ?? dir, fd, options.uid, options.gid, onExit)
          : addon.spawn(file, argv, options.env ?? ENV, options.cwd ?? dir, fd, options.uid, options.gid, onExit, options.inputFd);
      closeSync(fd);
    });
  }

  it('reports the exit code, with stdout and stderr in the order written', async () => {
    const result = await run('/bin/sh', ['sh', '-c', 'echo one; echo two >&2; echo three; exit 7']);
    assert.deepEqual({ output: result.output, code: result.code, signal: result.signal }, { output: 'one\ntwo\nthree\n', code: 7, signal: null });
  });

  it('reports the signal that ended it', async () => {
    const result = await run('/bin/sh', ['sh', '-c', 'kill -TERM $$']);
    assert.deepEqual({ code: result.code, signal: result.signal }, { code: null, signal: 'SIGTERM' });
  });

  it('runs in its own session and process group, in the given cwd and environment, stdin empty', async () => {
    const script = 'ps -o pid=,pgid=,sid= -p $$; pwd; echo "$GREETING"; cat; echo end';
    const result = await run('/bin/sh', ['sh', '-c', script], { env: [...ENV, 'GREETING=hi'], cwd: '/usr' });
    const [ids, cwd, greeting, end] = result.output.trim().split('\n');
    assert.deepEqual(ids?.trim().split(/\s+/).map(Number), [result.pid, result.pid, result.pid]);
    assert.deepEqual([cwd, greeting, end], ['/usr', 'hi', 'end']);
  });

  it('reads stdin from the descriptor given, when one is', async () => {
    const inputPath = path.join(dir, 'input');
    writeFileSync(inputPath, 'from the file\n');
    const inputFd = openSync(inputPath, 'r');
    const result = await run('/bin/sh', ['sh', '-c', 'cat; echo end'], { inputFd });
    closeSync(inputFd);
    assert.deepEqual({ output: result.output, code: result.code }, { output: 'from the file\nend\n', code: 0 });
  });

  it('gives every signal its default disposition and blocks none (Node ignores SIGPIPE; a job must not inherit that)', async () => {
    const result = await run('/bin/sh', ['sh', '-c', 'grep -E "^Sig(Ign|Blk)" /proc/self/status']);
    const masks = Object.fromEntries(
      result.output
        .trim()
        .split('\n')
        .map((line) => line.split(':\t'))
        .map(([name, hex]) => [name, BigInt(`0x${hex}`)]),
    );
    assert.equal(masks.SigBlk, 0n, result.output);
    // Signals 1-31 and the real-time ones a program may use; glibc's posix_spawn leaves its two
    // internal ones (32, 33) ignored, as for every program it starts, and glibc programs reset them.
    assert.equal(masks.SigIgn! & ~0x180000000n, 0n, result.output);
  });

  it("hands back the job's own /proc stat, read before its exec: the same start time /proc shows once it runs", async () => {
    const fd = openSync('/dev/null', 'w');
    let ended!: Promise<void>;
    const started = await new Promise<{ pid: number; procStat: string | undefined }>((resolve) => {
      ended = new Promise((done) => resolve(addon.spawn('/bin/sleep', ['sleep', '30'], ENV, dir, fd, undefined, undefined, () => done())));
    });
    closeSync(fd);
    try {
      const fromProc = processStartTime(readFileSync(`/proc/${started.pid}/stat`, 'utf8'));
      assert.ok(fromProc !== undefined && /^\d+$/.test(fromProc), 'a start time in /proc');
      assert.equal(processStartTime(started.procStat ?? ''), fromProc);
    } finally {
      process.kill(started.pid, 'SIGKILL');
      await ended;
    }
  });

  it('runs as the given user and group, with no supplementary groups', { skip: process.getuid?.() !== 0 && 'changing user needs root' }, async () => {
    const result = await run('/bin/sh', ['sh', '-c', 'id -u; id -g; id -G'], { uid: 65534, gid: 65534, cwd: '/' });
    assert.deepEqual({ output: result.output, code: result.code }, { output: '65534\n65534\n65534\n', code: 0 });
  });

  it('runs a script without "#!" under /bin/sh, as execvp does', async () => {
    const script = path.join(dir, 'no-shebang');
    writeFileSync(script, 'echo "plain script $1"\n');
    chmodSync(script, 0o755);
    const result = await run(script, [script, 'arg']);
    assert.deepEqual({ output: result.output, code: result.code }, { output: 'plain script arg\n', code: 0 });
  });

  const failures: { name: string; file: string; cwd?: string; code: string }[] = [
    { name: 'a program that does not exist', file: path.join(tmpdir(), 'no-such-program-baton'), code: 'ENOENT' },
    { name: 'a file that is not executable', file: 'not-executable', code: 'EACCES' },
    { name: 'a cwd that does not exist', file: '/bin/true', cwd: '/no/such/dir', code: 'ENOENT' },
  ];
  for (const c of failures) {
    it(`throws like child_process for ${c.name} (${c.code})`, () => {
      writeFileSync(path.join(dir, 'not-executable'), 'echo should not run\n', { mode: 0o644 });
      const file = path.resolve(dir, c.file);
      const fd = openSync('/dev/null', 'w');
      try {
        assert.throws(
          () => addon.spawn(file, [file], ENV, c.cwd ?? dir, fd, undefined, undefined, () => assert.fail('no exit for a job that never started')),
          (err: NodeJS.ErrnoException) => {
            assert.equal(err.code, c.code);
            assert.equal(err.message, `spawn ${file} ${c.code}`);
            return true;
          },
        );
      } finally {
        closeSync(fd);
      }
    });
  }

  it('refuses a string holding a NUL (as child_process does) rather than run a cut-off argument', () => {
    const fd = openSync('/dev/null', 'w');
    try {
      for (const [argv, env, cwd] of [
        [['sh', 'a\0b'], ENV, dir],
        [['sh'], ['X=a\0b'], dir],
        [['sh'], ENV, `${dir}\0/x`],
      ] as const) {
        assert.throws(() => addon.spawn('/bin/sh', [...argv], [...env], cwd, fd, undefined, undefined, () => assert.fail('it must not run')), { code: 'ERR_INVALID_ARG_VALUE' });
      }
    } finally {
      closeSync(fd);
    }
  });

  it("an exception thrown by onExit is the process's uncaught exception, not lost in the event loop", () => {
    const addonPath = fileURLToPath(new URL('../../../../build/Release/baton_spawn.node', import.meta.url));
    const script = `
      const { spawn } = require(${JSON.stringify(addonPath)});
      process.on('uncaughtException', (err) => { console.log('uncaught: ' + err.message); process.exit(0); });
      spawn('/bin/true', ['true'], [], '/', 1, undefined, undefined, () => { throw new Error('thrown in onExit'); });
      setTimeout(() => { console.log('lost'); process.exit(1); }, 5000);`;
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    assert.equal(out.trim(), 'uncaught: thrown in onExit');
  });

  it('the output copy takes whole byte counts from 0 to 2^53 - 1 for its head and tail, and refuses any other with one error', async () => {
    const fd = openSync(path.join(dir, 'copy-args'), 'w+');
    try {
      const refused: [string, number, number][] = [
        ['NaN head', Number.NaN, 10],
        ['NaN tail', 10, Number.NaN],
        ['negative head', -1, 10],
        ['negative tail', 10, -1],
        ['a fraction', 1.5, 10],
        ['infinite', Number.POSITIVE_INFINITY, 10],
        ['past 2^53 - 1', 2 ** 53, 10],
      ];
      const message = /headBytes and tailBytes must be whole numbers of bytes from 0 to 2\^53 - 1/;
      for (const [name, head, tail] of refused) {
        assert.throws(() => addon.pipeCopy!(fd, head, tail, () => {}), { name: 'RangeError', message }, `pipeCopy: ${name}`);
        assert.throws(() => addon.pipeCopySplit!(fd, fd, head, tail, () => {}), { name: 'RangeError', message }, `pipeCopySplit: ${name}`);
      }
      // The largest taken: the copy starts, and ends once its writer is gone.
      const done = new Promise<number>((resolve) => {
        closeSync(addon.pipeCopy!(fd, 2 ** 53 - 1, 0, (bytes) => resolve(bytes)));
      });
      assert.equal(await done, 0);
    } finally {
      closeSync(fd);
    }
  });

  it('names signals, and keeps an unknown number visible', () => {
    assert.equal(signalName(9), 'SIGKILL');
    assert.equal(signalName(15), 'SIGTERM');
    assert.equal(signalName(250), 'SIG250');
  });
});
