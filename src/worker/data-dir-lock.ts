import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { startTimeOf } from './journal/proc-stat.js';

export const LOCK_FILE = 'worker.lock';

interface LockOwner {
  pid: number;
  /** Its start time (proc-stat.ts): a lock whose pid now names another process is stale. */
  start: string;
}

/**
 * `<data-dir>/worker.lock`: one worker process per data folder, since two would share one
 * supervisor, journal and set of output files. Holds the owner's pid and start time; a lock
 * whose owner is gone (killed without removing it) is taken over. Returns the release.
 */
export function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, LOCK_FILE);
  const me: LockOwner = { pid: process.pid, start: startTimeOf(process.pid) ?? '' };
  for (let tries = 0; ; tries++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, JSON.stringify(me));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || tries > 0) throw err;
      const owner = readOwner(file);
      if (owner && startTimeOf(owner.pid) === owner.start) {
        throw new Error(`another baton worker (pid ${owner.pid}) is using the data folder ${dataDir}; stop it first, or give this one its own --data-dir (the lock is ${file})`);
      }
      // Its owner is gone: the lock is stale.
      unlinkSync(file);
    }
  }
  return () => {
    try {
      if (readOwner(file)?.pid === process.pid) unlinkSync(file);
    } catch {
      // Gone already.
    }
  };
}

function readOwner(file: string): LockOwner | undefined {
  try {
    const owner = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockOwner>;
    return typeof owner.pid === 'number' && typeof owner.start === 'string' ? { pid: owner.pid, start: owner.start } : undefined;
  } catch {
    // Unreadable or cut short: no live owner can be named, so it is treated as stale.
    return undefined;
  }
}
