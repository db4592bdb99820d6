// The JSON log writer (src/common/logger.ts) under a burst of lines, in a process of its own.
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';

const LOGGER = fileURLToPath(new URL('../src/common/logger.js', import.meta.url));
const LINES = 2000;

// Logs LINES lines (~250 bytes each, ~0.5 MiB) in one turn of the loop, counting the write()s
// to stdout; once told on stdin that every line arrived, prints that count on stderr.
const BURST = `
import fs from 'node:fs';
const write = fs.write;
let writes = 0;
fs.write = function (fd, ...rest) {
  if (fd === 1) writes++;
  return write.call(this, fd, ...rest);
};
const { createLogger } = await import(${JSON.stringify(LOGGER)});
const log = createLogger('burst');
for (let i = 0; i < ${LINES}; i++) log.info({ i, pad: 'x'.repeat(200) }, 'burst');
process.stdin.once('data', () => {
  process.stderr.write(String(writes));
  process.exit(0);
});
`;

describe('logger', () => {
  it('a burst of lines goes out whole in a few writes, not 16 KiB a turn of the loop', async () => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', BURST], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, BATON_LOG_FORMAT: 'json', BATON_LOG_LEVEL: 'info' },
    });
    let out = '';
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      if (out.split('\n').length - 1 === LINES) child.stdin.write('done\n');
    });
    const code = await new Promise((resolve) => child.once('exit', resolve));
    assert.equal(code, 0, err);
    const lines = out
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { i: number; msg: string });
    assert.deepEqual(
      lines.map((l) => l.i),
      Array.from({ length: LINES }, (_, i) => i),
    );
    // The first 4 KiB go at once; what gathers meanwhile goes in the next write, and the tail
    // (under 4 KiB) on the periodic flush. 16 KiB a write would take more than 30.
    const writes = Number(err);
    assert.ok(writes >= 1 && writes <= 4, `${writes} writes for ${LINES} lines`);
  });
});
