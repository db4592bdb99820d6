export type WorkerState = 'up' | 'down' | 'deregistered';

export interface WorkerRecord {
  id: string;
  address: string;
  labels: Record<string, string>;
  capacity: number;
  state: WorkerState;
  lastHeartbeatAt: number;
  registeredAt: number;
  version: string;
  /** Who drained the worker; '' when it takes placements ("worker" when its own heartbeat asked). */
  drainingBy: string;
}

/** The registry's record of every worker it has known. */
export interface WorkerStore {
  /** Adds the worker, or replaces what is known of it. */
  upsertWorker(w: WorkerRecord): Promise<void>;
  /** Every heartbeat lands here: on SQLite those of one moment share a commit. */
  setWorkerState(id: string, state: WorkerState, lastHeartbeatAt: number): Promise<void>;
  /** A heartbeat's time alone, for a worker that is up (shared store: the state is the leader's to change). */
  touchWorker(id: string, lastHeartbeatAt: number): Promise<void>;
  /** `by` '' takes the worker out of draining. */
  setWorkerDraining(id: string, by: string): Promise<void>;
  /** Forgets a worker that is not up (an admin removed it); false when there is none, or it is up. */
  removeWorker(id: string): Promise<boolean>;
  /** Every worker, by id. */
  listWorkers(): Promise<WorkerRecord[]>;
}
