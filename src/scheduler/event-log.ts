import { EventEmitter } from 'node:events';
import type { Logger } from '../common/logger.js';
import type { EventBus } from './events.js';
import { jobView, workerView } from './http/views.js';
import type { EventFilter, EventRecord, Store } from './store/store.js';

/** Events kept for replay (`Last-Event-ID`); older ones are pruned. */
export const KEEP_EVENTS = 100_000;
/** Rows deleted per prune statement, so pruning never holds the database for long. */
const PRUNE_BATCH = 5_000;
/** Prune after this many appended events. */
const PRUNE_EVERY = 1_000;

export interface EventLogMap {
  /** An event stored with its id: what SSE streams send live. */
  recorded: [event: EventRecord];
}

/**
 * Turns the bus's job and worker changes into numbered, stored events. Changes that arrive
 * together are written in one transaction (a busy scheduler makes thousands a second), and
 * announced (`recorded`) only once stored, in id order, so a live stream and a replay from the
 * store agree.
 */
export class EventLog extends EventEmitter<EventLogMap> {
  private pending: Omit<EventRecord, 'id'>[] = [];
  private flushing: Promise<void> | undefined;
  private sincePrune = 0;

  constructor(
    private readonly store: Store,
    bus: EventBus,
    private readonly log: Logger,
  ) {
    super();
    this.setMaxListeners(0);
    bus.on('job', (job) => this.add('job', job.id, JSON.stringify(jobView(job))));
    bus.on('worker', (w) => this.add('worker', w.id, JSON.stringify(workerView(w))));
  }

  /** Stored events after `afterId`, oldest first. */
  since(afterId: number, limit: number, filter: EventFilter): Promise<EventRecord[]> {
    return this.store.eventsAfter(afterId, limit, filter);
  }

  /** Resolves once every event added so far is stored and announced. */
  async flushed(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private add(kind: string, entityId: string, data: string): void {
    this.pending.push({ kind, entityId, data, createdAt: Date.now() });
    if (!this.flushing) this.flushing = new Promise((resolve) => setImmediate(resolve)).then(() => this.flush());
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    try {
      const ids = await this.store.appendEvents(batch);
      batch.forEach((e, i) => this.emit('recorded', { ...e, id: ids[i]! }));
      this.sincePrune += batch.length;
      if (this.sincePrune >= PRUNE_EVERY) {
        this.sincePrune = 0;
        await this.store.pruneEvents(KEEP_EVENTS, PRUNE_BATCH);
      }
    } catch (err) {
      this.log.error({ err, events: batch.length }, 'cannot record events; SSE streams miss them');
    } finally {
      this.flushing = undefined;
      if (this.pending.length > 0) this.flushing = this.flush();
    }
  }
}
