import { EventEmitter } from 'node:events';
import type { JobStateName } from './job-state.js';
import type { WorkerEntry } from './registry.js';
import type { JobRecord } from './store/job-store.js';
import type { Schedule } from '../api/schedules.js';
import type { AttemptEnd } from './job-timings.js';

/** What the scheduler's parts announce; listeners must not throw or block (they run inline). */
export interface SchedulerEventMap {
  /**
   * A job's state (or reason, attempt, worker, stopped_by) changed; `job` is the row as stored.
   * `previous` is null for a new job, undefined when the publisher does not know it.
   */
  job: [job: JobRecord, previous: JobStateName | null | undefined];
  /** An attempt on a worker ended (its job may be final, or queued for the next attempt): for /metrics. */
  attempt: [end: AttemptEnd];
  /** A worker's state or draining flag changed. */
  worker: [worker: WorkerEntry];
  /** An admin removed a worker (`DELETE /v1/workers/:id`): `worker` as it was. */
  workerRemoved: [worker: WorkerEntry];
  /** A schedule was created, changed or deleted: its view as the API shows it (`deleted` true when it is gone). */
  schedule: [name: string, view: Schedule | { name: string; deleted: true }];
}

/**
 * In-process announcements of job and worker changes: the store stays the record, this is
 * how the SSE route, /wait and metrics hear of a change without polling it.
 */
export class EventBus extends EventEmitter<SchedulerEventMap> {
  constructor() {
    super();
    // One listener per open SSE stream or waiting request: many is normal, not a leak.
    this.setMaxListeners(0);
  }
}
