import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LOCK_FILE, lockDataDir } from './data-dir-lock.js';
import { startTimeOf } from './journal/proc-stat.js';

test('one worker per data folder: a live owner refuses the next, a dead or unreadable one is taken over', () => {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'baton-lock-')), 'not-made-yet');
  lockDataDir(dir)();
  const file = path.join(dir, LOCK_FILE);
  // A live process other than this one: the parent (the test runner).
  writeFileSync(file, JSON.stringify({ pid: process.ppid, start: startTimeOf(process.ppid) }));
  assert.throws(() => lockDataDir(dir), /another baton worker \(pid \d+\) is using the data folder .*--data-dir/);

  writeFileSync(file, JSON.stringify({ pid: process.ppid, start: '1' })); // its pid, reused by another process
  lockDataDir(dir)();
  writeFileSync(file, '{"pid": 12'); // cut short
  const release = lockDataDir(dir);
  assert.equal(JSON.parse(readFileSync(file, 'utf8')).pid, process.pid);
  release();
  assert.equal(existsSync(file), false);
});
