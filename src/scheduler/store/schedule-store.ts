import type { Kysely, Selectable } from 'kysely';
import type { SubmitJobRequest } from '../../api/jobs.js';
import type { OverlapPolicy } from '../schedules/overlap.js';
import type { Database, SchedulesTable } from './schema.js';
import { isUniqueViolation } from './sql.js';

export interface ScheduleRecord {
  name: string;
  cron: string;
  timezone: string;
  /** The POST /v1/jobs body each tick submits. */
  job: SubmitJobRequest;
  overlap: OverlapPolicy;
  catchupWindowMs: number;
  paused: boolean;
  /** Every tick at or before it is handled: fired, skipped or recorded missed. */
  cursorAt: number;
  /** buffer_one: the tick waiting for the previous run to end; null for none. */
  bufferedFor: number | null;
  /** Ticks recorded missed (older than the catch-up window when their turn came), in all. */
  missed: number;
  lastMissedAt: number | null;
  /** Token name of the creator: each run is submitted as theirs. */
  createdBy: string;
  createdAt: number;
  updatedAt: number;
}

/** What PATCH may change. */
export type SchedulePatch = Partial<Pick<ScheduleRecord, 'cron' | 'timezone' | 'job' | 'overlap' | 'catchupWindowMs' | 'paused' | 'cursorAt' | 'bufferedFor'>>;

/** The schedules table: its rows and nothing else (the runs are jobs, written by the job writer). */
export class ScheduleStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Fails with `ScheduleNameTaken` when a schedule has this name. */
  async create(s: ScheduleRecord): Promise<void> {
    try {
      await this.db.insertInto('schedules').values(toRow(s)).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new ScheduleNameTaken(s.name);
      throw err;
    }
  }

  async get(name: string): Promise<ScheduleRecord | undefined> {
    const row = await this.db.selectFrom('schedules').selectAll().where('name', '=', name).executeTakeFirst();
    return row && toSchedule(row);
  }

  /** By name. */
  async list(): Promise<ScheduleRecord[]> {
    const rows = await this.db.selectFrom('schedules').selectAll().orderBy('name').execute();
    return rows.map(toSchedule);
  }

  /** The schedule as changed; undefined when there is none by that name. */
  async update(name: string, patch: SchedulePatch, now: number): Promise<ScheduleRecord | undefined> {
    const set: Partial<SchedulesTable> = { updated_at: now };
    if (patch.cron !== undefined) set.cron = patch.cron;
    if (patch.timezone !== undefined) set.timezone = patch.timezone;
    if (patch.job !== undefined) set.job = JSON.stringify(patch.job);
    if (patch.overlap !== undefined) set.overlap = patch.overlap;
    if (patch.catchupWindowMs !== undefined) set.catchup_window_ms = patch.catchupWindowMs;
    if (patch.paused !== undefined) set.paused = patch.paused ? 1 : 0;
    if (patch.cursorAt !== undefined) set.cursor_at = patch.cursorAt;
    if (patch.bufferedFor !== undefined) set.buffered_for = patch.bufferedFor;
    const row = await this.db.updateTable('schedules').set(set).where('name', '=', name).returningAll().executeTakeFirst();
    return row && toSchedule(row);
  }

  /** True when it existed. Its runs stay, as jobs. */
  async delete(name: string): Promise<boolean> {
    const result = await this.db.deleteFrom('schedules').where('name', '=', name).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /**
   * Ticks handled up to `cursorAt` (never moved back: a late writer cannot make ticks due
   * again), with `missed` more recorded missed, the newest at `lastMissedAt`.
   */
  async advance(name: string, cursorAt: number, missed: number, lastMissedAt: number | null): Promise<void> {
    await this.db
      .updateTable('schedules')
      .set((eb) => ({
        cursor_at: eb.case().when('cursor_at', '<', cursorAt).then(cursorAt).else(eb.ref('cursor_at')).end(),
        missed: eb('missed', '+', missed),
        ...(lastMissedAt !== null && { last_missed_at: lastMissedAt }),
      }))
      .where('name', '=', name)
      .execute();
  }

  /** buffer_one: the tick that waits for the previous run (null: none waits). */
  async setBuffered(name: string, tick: number | null): Promise<void> {
    await this.db.updateTable('schedules').set({ buffered_for: tick }).where('name', '=', name).execute();
  }
}

function toRow(s: ScheduleRecord): SchedulesTable {
  return {
    name: s.name,
    cron: s.cron,
    timezone: s.timezone,
    job: JSON.stringify(s.job),
    overlap: s.overlap,
    catchup_window_ms: s.catchupWindowMs,
    paused: s.paused ? 1 : 0,
    cursor_at: s.cursorAt,
    buffered_for: s.bufferedFor,
    missed: s.missed,
    last_missed_at: s.lastMissedAt,
    created_by: s.createdBy,
    created_at: s.createdAt,
    updated_at: s.updatedAt,
  };
}

function toSchedule(r: Selectable<SchedulesTable>): ScheduleRecord {
  const nullable = (v: number | null): number | null => (v === null ? null : Number(v));
  return {
    name: r.name,
    cron: r.cron,
    timezone: r.timezone,
    job: JSON.parse(r.job) as SubmitJobRequest,
    overlap: r.overlap as OverlapPolicy,
    catchupWindowMs: Number(r.catchup_window_ms),
    paused: r.paused !== 0,
    cursorAt: Number(r.cursor_at),
    bufferedFor: nullable(r.buffered_for),
    missed: Number(r.missed),
    lastMissedAt: nullable(r.last_missed_at),
    createdBy: r.created_by,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

export class ScheduleNameTaken extends Error {
  constructor(readonly scheduleName: string) {
    super(`a schedule named "${scheduleName}" already exists; change it with PATCH, or delete it first`);
    this.name = 'ScheduleNameTaken';
  }
}
