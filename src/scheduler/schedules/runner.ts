import type { Logger } from '../../common/logger.js';
import type { EventBus } from '../events.js';
import { specFrom } from '../http/v1-routes.js';
import { isFinal } from '../job-state.js';
import type { JobService } from '../job-service.js';
import { schedulerMetrics } from '../metrics.js';
import type { ScheduleRecord } from '../store/schedule-store.js';
import { TickTaken, type JobRecord } from '../store/job-store.js';
import type { Stores } from '../store/stores.js';
import { CronTimes } from './cron.js';
import { decideOverlap } from './overlap.js';
import { planTicks } from './ticks.js';

/** The timer wakes at least this often, so a wall clock stepped forward is noticed without waiting for a far tick. */
const MAX_SLEEP_MS = 30_000;
/** After a pass that failed (the store did not answer), the schedule is tried again this much later. */
const RETRY_MS = 1_000;

interface Entry {
  record: ScheduleRecord;
  times: CronTimes;
  /** The next tick to wake for; null while paused or while a pass is under way. */
  next: number | null;
}

/**
 * Fires schedules: on the leader only (one scheduler alone always leads). One timer for the
 * earliest tick of all; each schedule's passes run one at a time. A pass plans from the
 * schedule's cursor (ticks.ts), so on start, on taking the lead and after a stall, ticks
 * missed inside the catch-up window fire once, and older ones are recorded missed. Exactly
 * once per tick does not rest on this class: the store refuses a second job for a tick
 * (`TickTaken`), whoever tries it.
 */
export class ScheduleRunner {
  private readonly entries = new Map<string, Entry>();
  /** Each schedule's pass under way, so two never overlap. */
  private readonly passes = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private leading = false;
  private closed = false;

  constructor(
    private readonly store: Pick<Stores, 'jobs' | 'schedules'>,
    private readonly jobs: JobService,
    bus: EventBus,
    private readonly log: Logger,
  ) {
    bus.on('job', (job) => {
      if (this.leading && job.schedule !== '' && isFinal(job.state) && this.entries.get(job.schedule)?.record.bufferedFor != null) {
        void this.serially(job.schedule, () => this.releaseBuffered(job.schedule));
      }
    });
  }

  /** Takes the lead: loads every schedule, then catches up what is due. */
  async start(): Promise<void> {
    this.leading = true;
    const records = await this.store.schedules.list();
    for (const record of records) this.load(record);
    this.log.info({ schedules: this.entries.size }, 'schedules loaded');
    // Not awaited: a run's job may wait on a worker, and starting must not.
    for (const name of this.entries.keys()) void this.serially(name, () => this.pass(name)).then(() => this.arm());
  }

  /** A schedule was created, changed or deleted (here, or on another scheduler when this one leads). */
  changed(name: string): void {
    if (!this.leading) return;
    void this.serially(name, async () => {
      const record = await this.store.schedules.get(name);
      if (!record) {
        this.entries.delete(name);
        return;
      }
      this.load(record);
      await this.pass(name);
    }).then(() => this.arm());
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  /**
   * Submits a run of the schedule's job for `tick` (null: triggered by hand), as its creator.
   * TickTaken when that tick has a job already; the job service's errors otherwise.
   */
  async submit(record: ScheduleRecord, tick: number | null): Promise<JobRecord> {
    const spec = { ...specFrom(record.job, record.createdBy), schedule: { name: record.name, scheduledFor: tick } };
    return this.jobs.start(spec);
  }

  private load(record: ScheduleRecord): void {
    try {
      this.entries.set(record.name, { record, times: new CronTimes(record.cron, record.timezone), next: null });
    } catch (err) {
      // Stored when valid; a runtime that no longer knows its time zone cannot fire it.
      this.entries.delete(record.name);
      this.log.error({ schedule: record.name, err: (err as Error).message }, 'schedule cannot be read; it does not fire until it is changed');
    }
  }

  private serially(name: string, work: () => Promise<void>): Promise<void> {
    const run = (this.passes.get(name) ?? Promise.resolve()).then(work).catch((err: unknown) => this.log.error({ schedule: name, err }, 'schedule pass failed'));
    this.passes.set(name, run);
    void run.finally(() => {
      if (this.passes.get(name) === run) this.passes.delete(name);
    });
    return run;
  }

  private arm(): void {
    clearTimeout(this.timer);
    if (!this.leading || this.closed) return;
    let earliest = Number.POSITIVE_INFINITY;
    for (const e of this.entries.values()) if (e.next !== null && e.next < earliest) earliest = e.next;
    const delay = Math.min(Math.max(0, earliest - Date.now()), MAX_SLEEP_MS);
    this.timer = setTimeout(() => this.wake(), delay);
  }

  private wake(): void {
    const now = Date.now();
    for (const [name, e] of this.entries) {
      if (e.next === null || e.next > now) continue;
      e.next = null;
      void this.serially(name, () => this.pass(name)).then(() => this.arm());
    }
    this.arm();
  }

  /** Fires what is due of one schedule, records what was missed, and moves its cursor. */
  private async pass(name: string): Promise<void> {
    const e = this.entries.get(name);
    if (!e) return;
    const now = Date.now();
    try {
      await this.releaseBuffered(name);
      const { record } = e;
      const plan = planTicks({ times: e.times, catchupWindowMs: record.catchupWindowMs, paused: record.paused, cursor: record.cursorAt, now });
      if (plan.missed) {
        schedulerMetrics.scheduleMissed(plan.missed.count);
        this.log.warn(
          { schedule: name, missed: plan.missed.count, first: new Date(plan.missed.first).toISOString(), last: new Date(plan.missed.last).toISOString() },
          'schedule ticks missed: older than the catch-up window when a scheduler could fire them; recorded, not run',
        );
      }
      for (const tick of plan.due) await this.fire(e, tick);
      await this.store.schedules.advance(name, plan.cursor, plan.missed?.count ?? 0, plan.missed?.last ?? null);
      record.cursorAt = plan.cursor;
      if (plan.missed) {
        record.missed += plan.missed.count;
        record.lastMissedAt = plan.missed.last;
      }
      e.next = plan.next;
    } catch (err) {
      e.next = now + RETRY_MS;
      throw err;
    }
  }

  /** One tick, by the overlap policy against the schedule's last run. */
  private async fire(e: Entry, tick: number): Promise<void> {
    const { record } = e;
    // `allow` runs whatever the last run is doing: no need to read it.
    const last = record.overlap === 'allow' ? undefined : await this.lastRun(record.name);
    const live = last !== undefined && !isFinal(last.state);
    const facts = { schedule: record.name, scheduled_for: new Date(tick).toISOString(), previous_job_id: last?.id };
    switch (decideOverlap(record.overlap, live, record.bufferedFor !== null)) {
      case 'skip':
        schedulerMetrics.scheduleSkipped();
        this.log.info(facts, `schedule tick skipped: the previous run is still going (overlap ${record.overlap})`);
        return;
      case 'buffer':
        await this.store.schedules.setBuffered(record.name, tick);
        record.bufferedFor = tick;
        this.log.info(facts, 'schedule tick waits for the previous run to end (overlap buffer_one)');
        return;
      case 'cancel_previous_and_run':
        await this.jobs.stop(last!.id, undefined, 0, `schedule ${record.name}`).catch((err: unknown) => {
          this.log.warn({ ...facts, err: (err as Error).message }, 'schedule could not stop its previous run (overlap cancel_previous); the new one starts anyway');
        });
        break;
      case 'run':
        break;
    }
    await this.fireTick(record, tick);
  }

  /** buffer_one: the tick that waited runs once the previous run has ended. */
  private async releaseBuffered(name: string): Promise<void> {
    const record = this.entries.get(name)?.record;
    const tick = record?.bufferedFor;
    if (!record || tick === null || tick === undefined) return;
    const last = await this.lastRun(name);
    if (last !== undefined && !isFinal(last.state)) return;
    await this.store.schedules.setBuffered(name, null);
    record.bufferedFor = null;
    await this.fireTick(record, tick);
  }

  private async fireTick(record: ScheduleRecord, tick: number): Promise<void> {
    const facts = { schedule: record.name, scheduled_for: new Date(tick).toISOString() };
    try {
      const job = await this.submit(record, tick);
      schedulerMetrics.scheduleFired('created', job.createdAt - tick);
      this.log.info({ ...facts, job_id: job.id, lag_ms: job.createdAt - tick }, 'schedule fired');
    } catch (err) {
      if (err instanceof TickTaken) {
        // Fired already: by this scheduler before a restart, or by another that led then.
        this.log.info(facts, 'schedule tick has its job already; not fired again');
        return;
      }
      schedulerMetrics.scheduleFired('failed');
      this.log.error({ ...facts, err: (err as Error).message }, 'schedule tick could not run its job');
    }
  }

  private async lastRun(name: string): Promise<JobRecord | undefined> {
    return (await this.store.jobs.listJobs({ schedule: name, limit: 1 })).jobs[0];
  }
}
