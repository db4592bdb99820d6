import { connect, type ConnectionLost, type Dialect } from './connect.js';
import type { EventStore } from './event-store.js';
import type { JobStore } from './job-store.js';
import type { OutputStore } from './output-store.js';
import { ScheduleStore } from './schedule-store.js';
import { SqlEventStore } from './sql-event-store.js';
import { SqlJobStore } from './sql-job-store.js';
import { SqlOutputStore } from './sql-output-store.js';
import { SqlTokenStore } from './sql-token-store.js';
import { SqlWorkerStore } from './sql-worker-store.js';
import { SqlContext } from './sql.js';
import type { TokenStore } from './token-store.js';
import type { WorkerStore } from './worker-store.js';

/**
 * The scheduler's system of record, one port per aggregate. The SQL implementations share one
 * connection and one writer (their writes go into the same group commits); every query is
 * plain Kysely, so SQLite and PostgreSQL run the same code.
 */
export interface Stores {
  readonly jobs: JobStore;
  readonly workers: WorkerStore;
  readonly events: EventStore;
  readonly tokens: TokenStore;
  readonly schedules: ScheduleStore;
  readonly outputs: OutputStore;
  readonly dialect: Dialect;
  close(): Promise<void>;
}

/** Opens the store a URL names (see `connect`: migrations, and a schema newer than this binary refused). */
export async function openStores(url: string, onConnectionLost?: ConnectionLost): Promise<Stores> {
  const { db, writer, dialect, close } = await connect(url, onConnectionLost);
  const ctx = new SqlContext(db, writer, dialect);
  const events = new SqlEventStore(ctx);
  return {
    jobs: new SqlJobStore(ctx, (stored) => events.onJobEvents?.(stored)),
    workers: new SqlWorkerStore(ctx),
    events,
    tokens: new SqlTokenStore(ctx),
    schedules: new ScheduleStore(db),
    outputs: new SqlOutputStore(ctx),
    dialect,
    close,
  };
}
