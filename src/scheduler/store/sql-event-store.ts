import { sql, type Selectable } from 'kysely';
import type { EventFilter, EventRecord, EventStore } from './event-store.js';
import type { EventsTable } from './schema.js';
import type { SqlContext } from './sql.js';
import { idsOf } from './writer.js';

/** The event port on SQLite and PostgreSQL. */
export class SqlEventStore implements EventStore {
  onJobEvents: ((events: EventRecord[]) => void) | undefined;

  constructor(private readonly ctx: SqlContext) {}

  async appendEvents(events: readonly Omit<EventRecord, 'id'>[]): Promise<number[]> {
    if (events.length === 0) return [];
    const results = await this.ctx.writer.runRows(this.ctx.insertEvents(events), { events: true });
    return idsOf(results);
  }

  async lastEventId(): Promise<number> {
    const newest = await this.ctx.db
      .selectFrom('events')
      .select((eb) => eb.fn.max('id').as('id'))
      .executeTakeFirst();
    return Number(newest?.id ?? 0);
  }

  async eventsAfter(afterId: number, limit: number, filter: EventFilter = {}): Promise<EventRecord[]> {
    let query = this.ctx.db.selectFrom('events').selectAll().where('id', '>', afterId);
    if (filter.entityId !== undefined) query = query.where('entity_id', '=', filter.entityId);
    if (filter.kinds !== undefined) query = query.where('kind', 'in', filter.kinds);
    // One parameter, the runs as a JSON array, so that the statement's text is the same for any number of them.
    const runs = filter.except?.length ? JSON.stringify(filter.except) : undefined;
    if (runs !== undefined)
      query = query.where(({ not, exists }) =>
        not(
          exists(
            this.ctx.dialect === 'postgres'
              ? sql`(select from jsonb_array_elements(${runs}::jsonb) r where ${sql.ref('events.id')} between (r->>0)::bigint and (r->>1)::bigint)`
              : sql`(select 1 from json_each(${runs}) r where ${sql.ref('events.id')} between r.value ->> 0 and r.value ->> 1)`,
          ),
        ),
      );
    const rows = await query.orderBy('id').limit(limit).execute();
    return rows.map(toEvent);
  }

  async pruneEvents(keep: number, batch: number): Promise<number> {
    const cutoff = (await this.lastEventId()) - keep;
    if (cutoff <= 0) return 0;
    const oldest = this.ctx.db.selectFrom('events').select('id').where('id', '<=', cutoff).orderBy('id').limit(batch);
    const result = await this.ctx.db.deleteFrom('events').where('id', 'in', oldest).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

function toEvent(r: Selectable<EventsTable>): EventRecord {
  return { id: Number(r.id), kind: r.kind, entityId: r.entity_id, data: r.data, createdAt: Number(r.created_at) };
}
