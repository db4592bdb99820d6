/**
 * The SQLite checkpointer's thread (see ./checkpointer.ts): its own connection to the
 * scheduler's database file, which copies the WAL back into the file now and then. A PASSIVE
 * checkpoint never waits for a reader or the writer, so the scheduler's thread never waits for it.
 */
import { statSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import Sqlite from 'better-sqlite3';

export interface CheckpointThreadData {
  file: string;
  intervalMs: number;
}

const { file, intervalMs } = workerData as CheckpointThreadData;
const db = new Sqlite(file, { fileMustExist: true });
const wal = `${file}-wal`;
/** The WAL file's last change seen (mtime, size): an idle scheduler's WAL is not checkpointed again. */
let seen = '';

const timer = setInterval(() => {
  let now: string;
  try {
    const stat = statSync(wal);
    now = `${stat.mtimeMs} ${stat.size}`;
  } catch {
    return; // no WAL yet (or removed at close)
  }
  if (now === seen) return;
  db.pragma('wal_checkpoint(PASSIVE)');
  seen = now;
}, intervalMs);

parentPort!.on('message', (message: 'close') => {
  if (message !== 'close') return;
  clearInterval(timer);
  db.close();
  parentPort!.close();
});
parentPort!.postMessage('ready');
