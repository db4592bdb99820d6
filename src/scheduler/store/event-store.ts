export interface EventRecord {
  id: number;
  kind: string;
  entityId: string;
  /** The view, JSON text. */
  data: string;
  createdAt: number;
}

export interface EventFilter {
  /** Only events of this job or worker. */
  entityId?: string;
  kinds?: readonly string[];
  /** Not the events with ids in these runs (`[first, last]`, inclusive): the caller has them. */
  except?: readonly (readonly [number, number])[];
}

/** The event log's record: every job and worker change, in id order. */
export interface EventStore {
  /**
   * Told of the events job writes stored (each in the transaction of its change), once
   * committed, in commit order: the event log announces them.
   */
  onJobEvents: ((events: EventRecord[]) => void) | undefined;
  /**
   * Appends events in one transaction; their ids, increasing, in the order given. On PostgreSQL
   * appends take turns (a transaction lock), so ids become visible in order and a reader that
   * goes on after the last id it saw misses none, whichever scheduler stored them.
   */
  appendEvents(events: readonly Omit<EventRecord, 'id'>[]): Promise<number[]>;
  /** The newest event's id; 0 when there is none. */
  lastEventId(): Promise<number>;
  /** Events after `afterId`, oldest first, at most `limit`. */
  eventsAfter(afterId: number, limit: number, filter?: EventFilter): Promise<EventRecord[]>;
  /** Deletes up to `batch` of the oldest events beyond the newest `keep`; how many went. */
  pruneEvents(keep: number, batch: number): Promise<number>;
}
