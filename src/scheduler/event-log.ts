import { EventEmitter } from 'node:events';
import type { Logger } from '../common/logger.js';
import type { EventBus } from './events.js';
import { workerView } from './http/views.js';
import type { EventFilter, EventRecord, EventStore } from './store/event-store.js';

/** Events kept for replay (`Last-Event-ID`); older ones are pruned. */
export const KEEP_EVENTS = 100_000;
/** Rows deleted per prune statement, so pruning never holds the database for long. */
const PRUNE_BATCH = 5_000;
/** Prune after this many appended events. */
const PRUNE_EVERY = 1_000;

export interface EventLogMap {
  /** An event stored with its id: what SSE streams send live. */
  recorded: [event: EventRecord];
  /** Shared store: an event another scheduler stored (also announced as `recorded`). */
  remote: [event: EventRecord];
}

/** Several schedulers share the store: events are announced to them, and theirs are read back. */
export interface EventSharing {
  announce(lastId: number): void;
  /** Only the leader prunes old events. */
  readonly leading: boolean;
}

/** Events read back per query while catching up. */
const TAIL_BATCH = 1_000;

/**
 * The numbered, stored events, announced (`recorded`) only once stored, in id order, so a live
 * stream and a replay from the store agree. A job's event is stored by the write that changed
 * the job, in its transaction (the store hands it over here once committed). Worker changes
 * come from the bus; those that arrive together are written in one transaction.
 */
export class EventLog extends EventEmitter<EventLogMap> {
  private pending: Omit<EventRecord, 'id'>[] = [];
  /**
   * Events committed in this turn of the event loop, announced together at its end, sorted:
   * the writes of one group commit may resume their callers in any order.
   */
  private unannounced: EventRecord[] = [];
  private pruning: Promise<unknown> | undefined;
  private flushing: Promise<void> | undefined;
  private sincePrune = 0;
  /** Shared store: the id of the last event announced as `recorded`, and the events this scheduler stored past it. */
  private tailId = 0;
  private readonly mine = new Map<number, EventRecord>();
  private tailing: Promise<void> | undefined;
  private tailAgain = false;

  /**
   * With `sharing` (several schedulers on one PostgreSQL), events are announced from the
   * store, in id order, whoever stored them: the store serialises appends, so ids commit in
   * order and reading after the last id seen misses none.
   */
  constructor(
    private readonly store: EventStore,
    bus: EventBus,
    private readonly log: Logger,
    private readonly sharing?: EventSharing,
  ) {
    super();
    this.setMaxListeners(0);
    store.onJobEvents = (events) => this.stored(events);
    bus.on('worker', (w) => this.add('worker', w.id, JSON.stringify(workerView(w))));
    bus.on('workerRemoved', (w) => this.add('worker', w.id, JSON.stringify({ ...workerView(w), removed: true })));
    bus.on('schedule', (name, view) => this.add('schedule', name, JSON.stringify(view)));
  }

  /** Stored events after `afterId`, oldest first. */
  since(afterId: number, limit: number, filter: EventFilter): Promise<EventRecord[]> {
    return this.store.eventsAfter(afterId, limit, filter);
  }

  /** Shared store: live announcements start after the newest event stored now. */
  async start(): Promise<void> {
    if (this.sharing) this.tailId = await this.store.lastEventId();
  }

  /** Resolves once every event added so far is stored and announced. */
  async flushed(): Promise<void> {
    while (this.flushing) await this.flushing;
    while (this.tailing) await this.tailing;
    await this.pruning;
  }

  /** Shared store: reads what was stored after the last event announced, and announces it. */
  catchUp(): void {
    if (this.tailing) {
      this.tailAgain = true;
      return;
    }
    this.tailing = this.tail().finally(() => {
      this.tailing = undefined;
      if (this.tailAgain) {
        this.tailAgain = false;
        this.catchUp();
      }
    });
  }

  /**
   * Only the other schedulers' events are read back: this one's own, past the last announced,
   * are in `mine` (committed, so every event before them is too: appends commit in id order),
   * and go out from there in their places among the others.
   */
  private async tail(): Promise<void> {
    try {
      for (;;) {
        const own = [...this.mine.keys()].sort((a, b) => a - b);
        const others = await this.store.eventsAfter(this.tailId, TAIL_BATCH, { except: idRuns(own) });
        const complete = others.length < TAIL_BATCH;
        const upTo = complete ? Number.POSITIVE_INFINITY : others.at(-1)!.id;
        const events = [...others, ...own.filter((id) => id <= upTo).map((id) => this.mine.get(id)!)].sort((a, b) => a.id - b.id);
        for (const e of events) {
          this.tailId = e.id;
          this.emit('recorded', e);
          if (!this.mine.delete(e.id)) this.emit('remote', e);
        }
        if (complete) return;
      }
    } catch (err) {
      this.log.error({ err, after_id: this.tailId }, 'cannot read stored events; SSE streams get them on the next announcement');
    }
  }

  private stored(events: readonly EventRecord[]): void {
    // One read back already (its commit answered after the read) is announced: not again.
    if (this.sharing) for (const e of events) if (e.id > this.tailId) this.mine.set(e.id, e);
    if (this.unannounced.length === 0) setImmediate(() => this.announceStored());
    this.unannounced.push(...events);
    this.countForPrune(events.length);
  }

  /** Alone: emitted in id order. Shared: one announcement to the other schedulers for the lot, and all read back in order. */
  private announceStored(): void {
    const events = this.unannounced.sort((a, b) => a.id - b.id);
    this.unannounced = [];
    if (this.sharing) {
      this.sharing.announce(events.at(-1)!.id);
      this.catchUp();
      return;
    }
    for (const e of events) this.emit('recorded', e);
  }

  private countForPrune(stored: number): void {
    this.sincePrune += stored;
    if (this.sincePrune < PRUNE_EVERY || !(this.sharing?.leading ?? true) || this.pruning) return;
    this.sincePrune = 0;
    this.pruning = this.store
      .pruneEvents(KEEP_EVENTS, PRUNE_BATCH)
      .catch((err: unknown) => this.log.error({ err }, 'cannot prune old events'))
      .finally(() => (this.pruning = undefined));
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
      this.stored(batch.map((e, i) => ({ ...e, id: ids[i]! })));
    } catch (err) {
      this.log.error({ err, events: batch.length }, 'cannot record events; SSE streams miss them');
    } finally {
      this.flushing = undefined;
      if (this.pending.length > 0) this.flushing = this.flush();
    }
  }
}

/** Ascending ids as runs of consecutive ones, `[first, last]`: a group commit's events are one run. */
export function idRuns(ids: readonly number[]): [number, number][] {
  const runs: [number, number][] = [];
  for (const id of ids) {
    const last = runs.at(-1);
    if (last && id === last[1] + 1) last[1] = id;
    else runs.push([id, id]);
  }
  return runs;
}
