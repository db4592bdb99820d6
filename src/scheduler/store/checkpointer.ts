import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';
import type { CheckpointThreadData } from './checkpoint-thread.js';

/** How often the checkpointer looks at the WAL: SQLite's own checkpoint (every 1,000 pages, ~4 MB) came about every 200 ms on a busy scheduler. */
const CHECKPOINT_INTERVAL_MS = 100;
/**
 * The WAL file is cut back to this size when it starts over: between two checkpoints a large
 * output copied into the store may take it to tens of MiB, which it would otherwise keep.
 */
const WAL_SIZE_LIMIT = 16 * 1024 * 1024;
/** SQLite's default, put back should the checkpointer's thread stop. */
const AUTOCHECKPOINT_PAGES = 1000;
/** A checkpoint under way is let finish this long at close before the thread is ended. */
const CLOSE_TIMEOUT_MS = 2000;

export interface Checkpointer {
  close(): Promise<void>;
}

/**
 * Moves SQLite's WAL checkpoints off the scheduler's event loop. By default the commit that
 * takes the WAL past 1,000 pages copies them into the database file and fsyncs it, inside
 * that commit: the event loop stops for the copy and the disk's flush (on a busy scheduler, a
 * few times a second, each up to tens of ms). Here the connection's own checkpoints are off
 * and a thread of this process, with a connection of its own, checkpoints instead. Should the
 * thread stop, the connection checkpoints for itself again, as before.
 */
export async function startCheckpointer(sqlite: BetterSqlite3.Database, file: string): Promise<Checkpointer> {
  const data: CheckpointThreadData = { file, intervalMs: CHECKPOINT_INTERVAL_MS };
  const thread = new Worker(new URL('./checkpoint-thread.js', import.meta.url), { workerData: data });
  let closing = false;
  thread.on('error', () => {}); // its end is what matters: 'exit' follows
  thread.once('exit', () => {
    if (!closing && sqlite.open) sqlite.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
  });
  const ready = await new Promise<boolean>((resolve) => {
    thread.once('message', (message) => resolve(message === 'ready'));
    thread.once('exit', () => resolve(false));
  });
  if (!ready) return { close: async () => {} }; // it could not open the file: SQLite's own checkpoints stay on
  sqlite.pragma('wal_autocheckpoint = 0');
  sqlite.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT}`);
  // The scheduler's process does not wait for this thread to end.
  thread.unref();
  return {
    close: async () => {
      if (closing) return;
      closing = true;
      const exited = once(thread, 'exit');
      thread.postMessage('close');
      const timer = setTimeout(() => void thread.terminate(), CLOSE_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
