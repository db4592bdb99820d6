import type { Selectable } from 'kysely';
import type { WorkersTable } from './schema.js';
import type { SqlContext } from './sql.js';
import type { WorkerRecord, WorkerState, WorkerStore } from './worker-store.js';

/** The values of a heartbeat's write and their SQL types, for its merged form (`SqlContext.mergeable`); a job's key is its id, a worker's `worker <id>`. */
const BEAT_VALUES = { id: 'text', state: 'text', lastHeartbeatAt: 'bigint' };

/** The worker port on SQLite and PostgreSQL. */
export class SqlWorkerStore implements WorkerStore {
  constructor(private readonly ctx: SqlContext) {}

  async upsertWorker(w: WorkerRecord): Promise<void> {
    const values = {
      id: w.id,
      address: w.address,
      labels: JSON.stringify(w.labels),
      capacity: w.capacity,
      state: w.state,
      last_heartbeat_at: w.lastHeartbeatAt,
      registered_at: w.registeredAt,
      version: w.version,
      draining_by: w.drainingBy,
    };
    const { id: _id, ...update } = values;
    await this.ctx.db
      .insertInto('workers')
      .values(values)
      .onConflict((oc) => oc.column('id').doUpdateSet(update))
      .execute();
  }

  /** Through the writer, as heartbeats are many: on PostgreSQL, those of a group commit as one statement. */
  async setWorkerState(id: string, state: WorkerState, lastHeartbeatAt: number): Promise<void> {
    const query = this.ctx.mergeable('setWorkerState', BEAT_VALUES, (p, rows) => {
      const update = this.ctx.db
        .updateTable('workers')
        .set({ state: p<WorkerState>('state'), last_heartbeat_at: p<number>('lastHeartbeatAt') })
        .where('id', '=', p<string>('id'));
      return rows ? update.from(rows.table).returning(rows.ordinal) : update;
    });
    await this.ctx.writer.run([query.fill({ id, state, lastHeartbeatAt }, `worker ${id}`)]);
  }

  async touchWorker(id: string, lastHeartbeatAt: number): Promise<void> {
    const query = this.ctx.mergeable('touchWorker', BEAT_VALUES, (p, rows) => {
      const update = this.ctx.db
        .updateTable('workers')
        .set({ last_heartbeat_at: p<number>('lastHeartbeatAt') })
        .where('id', '=', p<string>('id'))
        .where('state', '=', 'up');
      return rows ? update.from(rows.table).returning(rows.ordinal) : update;
    });
    await this.ctx.writer.run([query.fill({ id, lastHeartbeatAt }, `worker ${id}`)]);
  }

  async setWorkerDraining(id: string, by: string): Promise<void> {
    await this.ctx.db.updateTable('workers').set({ draining_by: by }).where('id', '=', id).execute();
  }

  /** Conditional on the state, so a worker that registered again meanwhile (with any scheduler) stays. */
  async removeWorker(id: string): Promise<boolean> {
    const result = await this.ctx.db.deleteFrom('workers').where('id', '=', id).where('state', '<>', 'up').executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async listWorkers(): Promise<WorkerRecord[]> {
    const rows = await this.ctx.db.selectFrom('workers').selectAll().orderBy('id').execute();
    return rows.map(toWorker);
  }
}

function toWorker(r: Selectable<WorkersTable>): WorkerRecord {
  return {
    id: r.id,
    address: r.address,
    labels: JSON.parse(r.labels) as Record<string, string>,
    capacity: r.capacity,
    state: r.state as WorkerState,
    lastHeartbeatAt: r.last_heartbeat_at,
    registeredAt: r.registered_at,
    version: r.version,
    drainingBy: r.draining_by,
  };
}
