import type { GrpcSecurity } from '../common/grpc.js';
import { splitHostPort } from '../common/net.js';
import { BatonError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { RegisterWorkerRequest } from '../gen/baton/v1/scheduler.js';
import type { JobStatusApplier } from './job-status.js';
import type { Store, WorkerRecord, WorkerState } from './store/store.js';
import { WorkerChannel } from './worker-channel.js';

export interface WorkerEntry extends WorkerRecord {
  /** Jobs running, as the worker's last heartbeat said. */
  running: number;
  /** Absent for workers known from the store but not registered since this scheduler started. */
  channel: WorkerChannel | undefined;
}

/**
 * Every worker the scheduler knows, in memory (the request path reads it without I/O) and
 * mirrored to the store. Nothing here holds a lock across a network call: each worker has
 * its own channel, and store writes that callers need not wait for are fire-and-forget.
 */
export class Registry {
  private readonly workers = new Map<string, WorkerEntry>();
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Store,
    private readonly applier: JobStatusApplier,
    private readonly heartbeatTtlMs: number,
    private readonly log: Logger,
    private readonly security: GrpcSecurity,
  ) {}

  /** Loads workers from an earlier run as `down` until they register again; starts the liveness sweep. */
  async start(): Promise<void> {
    for (const w of await this.store.listWorkers()) {
      const state: WorkerState = w.state === 'deregistered' ? 'deregistered' : 'down';
      this.workers.set(w.id, { ...w, state, running: 0, channel: undefined });
    }
    const every = Math.max(100, Math.min(1000, Math.floor(this.heartbeatTtlMs / 4)));
    this.sweepTimer = setInterval(() => this.sweep(Date.now()), every);
    this.sweepTimer.unref();
  }

  get(id: string): WorkerEntry | undefined {
    return this.workers.get(id);
  }

  list(): WorkerEntry[] {
    return [...this.workers.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async register(req: RegisterWorkerRequest): Promise<void> {
    if (!req.workerId.trim()) throw new BatonError('BAD_REQUEST', 'worker_id must not be empty');
    try {
      splitHostPort(req.address);
    } catch (err) {
      throw new BatonError('BAD_REQUEST', `address: ${(err as Error).message}`);
    }
    if (req.capacity < 0) throw new BatonError('BAD_REQUEST', `capacity must not be negative (got ${req.capacity})`);

    const now = Date.now();
    const previous = this.workers.get(req.workerId);
    let channel = previous?.channel;
    if (!channel || channel.address !== req.address) {
      channel?.close();
      try {
        channel = new WorkerChannel(req.workerId, req.address, (s) => this.applier.applyWorkerStatus(req.workerId, s), this.log, this.security);
      } catch (err) {
        // clientCredentials refuses plaintext to a non-loopback address.
        throw new BatonError('BAD_REQUEST', (err as Error).message);
      }
    }
    const entry: WorkerEntry = {
      id: req.workerId,
      address: req.address,
      labels: req.labels,
      capacity: req.capacity,
      state: 'up',
      lastHeartbeatAt: now,
      registeredAt: now,
      version: req.version,
      running: 0,
      channel,
    };
    this.workers.set(entry.id, entry);
    await this.store.upsertWorker(entry);
    this.log.info(
      { worker_id: entry.id, state: 'up', previous: previous?.state ?? null, address: entry.address, capacity: entry.capacity, jobs: req.jobs.length },
      'worker state changed',
    );
    // Jobs that ended while the scheduler was away get their final state now.
    for (const status of req.jobs) await this.applier.applyWorkerStatus(entry.id, status);
    channel.watch();
  }

  /** False when the worker is unknown here (the caller answers NOT_FOUND: register again). */
  heartbeat(id: string, running: number): boolean {
    const w = this.workers.get(id);
    if (!w || !w.channel || w.state === 'deregistered') return false;
    const now = Date.now();
    w.lastHeartbeatAt = now;
    w.running = running;
    if (w.state === 'down') this.setState(w, 'up', 'heartbeat resumed');
    else this.persist(w);
    return true;
  }

  deregister(id: string): boolean {
    const w = this.workers.get(id);
    if (!w) return false;
    w.channel?.close();
    w.channel = undefined;
    w.running = 0;
    if (w.state !== 'deregistered') this.setState(w, 'deregistered', 'deregistered');
    return true;
  }

  /** Marks `down` every live worker silent for longer than the TTL. */
  sweep(now: number): void {
    for (const w of this.workers.values()) {
      if (w.state === 'up' && now - w.lastHeartbeatAt > this.heartbeatTtlMs) this.setState(w, 'down', `no heartbeat for ${now - w.lastHeartbeatAt} ms`);
    }
  }

  close(): void {
    clearInterval(this.sweepTimer);
    for (const w of this.workers.values()) {
      w.channel?.close();
      w.channel = undefined;
    }
  }

  private setState(w: WorkerEntry, state: WorkerState, reason: string): void {
    const previous = w.state;
    w.state = state;
    this.log.info({ worker_id: w.id, state, previous, address: w.address, reason }, 'worker state changed');
    this.persist(w);
  }

  private persist(w: WorkerEntry): void {
    this.store.setWorkerState(w.id, w.state, w.lastHeartbeatAt).catch((err: unknown) => this.log.error({ worker_id: w.id, err }, 'cannot record worker state'));
  }
}
