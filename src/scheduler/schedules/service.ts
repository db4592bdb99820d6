import type { SubmitJobRequest } from '../../api/jobs.js';
import type { CreateScheduleRequest, Schedule, ScheduleDetail, UpdateScheduleRequest } from '../../api/schedules.js';
import { DURATION_HINT, parseDuration } from '../../common/duration.js';
import { BatonError, echo } from '../../common/errors.js';
import type { EventBus } from '../events.js';
import { specFrom } from '../http/v1-routes.js';
import { jobView, scheduleView } from '../http/views.js';
import { ScheduleNameTaken, type SchedulePatch, type ScheduleRecord } from '../store/schedule-store.js';
import type { JobRecord } from '../store/job-store.js';
import type { Stores } from '../store/stores.js';
import { CronTimes } from './cron.js';
import type { ScheduleRunner } from './runner.js';

export const DEFAULT_CATCHUP_WINDOW_MS = 60_000;
const NEXT_RUNS = 5;
const LAST_RUNS = 20;

/** `catchup_window`: seconds, or a duration ("5m"). */
function windowMs(value: number | string): number {
  if (typeof value === 'number') return Math.round(value * 1000);
  try {
    return parseDuration(value);
  } catch (err) {
    throw new BatonError('BAD_REQUEST', `catchup_window "${echo(value)}": ${(err as Error).message}; ${DURATION_HINT}`);
  }
}

/** The job body as a run would submit it: its faults named under `job.` (the schema checked its shape already). */
function checkJob(job: SubmitJobRequest, by: string): void {
  // Each tick's run would wait for the same jobs, which end once: after the first run, the rest would not wait at all.
  if (job.after !== undefined) throw new BatonError('BAD_REQUEST', "job.after: a schedule's runs cannot wait for other jobs; use concurrency (or overlap) to keep runs apart");
  try {
    specFrom(job, by);
  } catch (err) {
    if (err instanceof BatonError) throw new BatonError(err.code, `job.${err.message}`);
    throw err;
  }
}

/**
 * Schedule operations behind the HTTP API, on any scheduler: the store first, then the
 * announcement (`/v1/events`, and the runner of whichever scheduler leads).
 */
export class ScheduleService {
  constructor(
    private readonly store: Pick<Stores, 'jobs' | 'schedules'>,
    private readonly runner: ScheduleRunner,
    private readonly bus: EventBus,
  ) {}

  async create(body: CreateScheduleRequest, by: string, now = Date.now()): Promise<Schedule> {
    const timezone = body.timezone ?? 'UTC';
    new CronTimes(body.cron, timezone);
    checkJob(body.job, by);
    const record: ScheduleRecord = {
      name: body.name,
      cron: body.cron,
      timezone,
      job: body.job,
      overlap: body.overlap ?? 'skip',
      catchupWindowMs: body.catchup_window === undefined ? DEFAULT_CATCHUP_WINDOW_MS : windowMs(body.catchup_window),
      paused: body.paused ?? false,
      // Ticks from now on: none before the schedule existed is due or missed.
      cursorAt: now,
      bufferedFor: null,
      missed: 0,
      lastMissedAt: null,
      createdBy: by,
      createdAt: now,
      updatedAt: now,
    };
    try {
      await this.store.schedules.create(record);
    } catch (err) {
      if (err instanceof ScheduleNameTaken) throw new BatonError('ALREADY_EXISTS', err.message);
      throw err;
    }
    return this.announce(record);
  }

  async list(): Promise<Schedule[]> {
    const records = await this.store.schedules.list();
    return Promise.all(records.map(async (r) => scheduleView(r, this.nextTick(r), (await this.runs(r.name, 1))[0])));
  }

  async detail(name: string): Promise<ScheduleDetail> {
    const record = await this.find(name);
    const runs = await this.runs(name, LAST_RUNS);
    const nextRuns = record.paused ? [] : new CronTimes(record.cron, record.timezone).nextN(Date.now(), NEXT_RUNS);
    return { ...scheduleView(record, nextRuns[0] ?? null, runs[0]), next_runs: nextRuns.map((t) => new Date(t).toISOString()), runs: runs.map(jobView) };
  }

  /**
   * Changes what is given. A new expression or time zone counts from now, and so does a resume:
   * ticks of a paused schedule are neither run nor counted missed (a tick waiting under
   * buffer_one is dropped by the pause).
   */
  async update(name: string, body: UpdateScheduleRequest, by: string, now = Date.now()): Promise<Schedule> {
    const existing = await this.find(name);
    const patch: SchedulePatch = {};
    if (body.cron !== undefined || body.timezone !== undefined) {
      patch.cron = body.cron ?? existing.cron;
      patch.timezone = body.timezone ?? existing.timezone;
      new CronTimes(patch.cron, patch.timezone);
      patch.cursorAt = Math.max(existing.cursorAt, now);
    }
    if (body.job !== undefined) {
      checkJob(body.job, by);
      patch.job = body.job;
    }
    if (body.overlap !== undefined) patch.overlap = body.overlap;
    if (body.catchup_window !== undefined) patch.catchupWindowMs = windowMs(body.catchup_window);
    if (body.paused !== undefined) {
      patch.paused = body.paused;
      if (body.paused) patch.bufferedFor = null;
      if (existing.paused && !body.paused) patch.cursorAt = Math.max(existing.cursorAt, now);
    }
    const updated = await this.store.schedules.update(name, patch, now);
    if (!updated) throw notFound(name);
    return this.announce(updated);
  }

  /** The schedule as it was. */
  async delete(name: string): Promise<Schedule> {
    const record = await this.find(name);
    const view = scheduleView(record, null, (await this.runs(name, 1))[0]);
    if (!(await this.store.schedules.delete(name))) throw notFound(name);
    this.bus.emit('schedule', name, { name, deleted: true });
    this.runner.changed(name);
    return view;
  }

  /** A run now, outside the cron (no tick: `scheduled_for` null), whatever the overlap policy. */
  async trigger(name: string): Promise<JobRecord> {
    return this.runner.submit(await this.find(name), null);
  }

  private async find(name: string): Promise<ScheduleRecord> {
    const record = await this.store.schedules.get(name);
    if (!record) throw notFound(name);
    return record;
  }

  private async runs(name: string, limit: number): Promise<JobRecord[]> {
    return (await this.store.jobs.listJobs({ schedule: name, limit })).jobs;
  }

  private nextTick(record: ScheduleRecord): number | null {
    return record.paused ? null : new CronTimes(record.cron, record.timezone).next(Date.now());
  }

  private async announce(record: ScheduleRecord): Promise<Schedule> {
    const view = scheduleView(record, this.nextTick(record), (await this.runs(record.name, 1))[0]);
    this.bus.emit('schedule', record.name, view);
    this.runner.changed(record.name);
    return view;
  }
}

function notFound(name: string): BatonError {
  return new BatonError('SCHEDULE_NOT_FOUND', `schedule "${echo(name)}" not found`);
}
