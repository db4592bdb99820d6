import type { GrpcSecurity } from '../common/grpc.js';
import { splitHostPort } from '../common/net.js';
import { BatonError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { RegisterWorkerRequest } from '../gen/baton/v1/scheduler.js';
import type { JobStatus } from '../gen/baton/v1/common.js';
import type { EventBus } from './events.js';
import { fromWorkerState, isFinal } from './job-state.js';
import { parseRunId, type JobStatusApplier } from './job-status.js';
import type { Stores } from './store/stores.js';
import type { WorkerRecord, WorkerState } from './store/worker-store.js';
import { WorkerChannel } from './worker-channel.js';

// Workers retry registration (and failed heartbeats) at least every second (src/worker/backoff.ts): five times that.
const RESTART_GRACE_MIN_MS = 5_000;
export interface WorkerEntry extends WorkerRecord {
  /** Jobs running, as the worker's last heartbeat said. */
  running: number;
  /** Absent for workers known from the store but not registered since this scheduler started. */
  channel: WorkerChannel | undefined;
}

/** What the dispatcher hears from the registry. */
export interface WorkerEvents {
  /** `reported`: the run ids the worker listed at registration (absent: an undrain, nothing to reconcile). */
  workerUp(workerId: string, reported?: ReadonlySet<string>): void;
  /** The worker stopped answering (lease missed, or its heartbeat stream broke): its attempts are `unknown`, with `reason`. */
  workerSilent(workerId: string, reason: string): void;
  /** The worker stayed silent past the window: `error` is the sentence its attempts still `unknown` end `lost` with. */
  workerLost(workerId: string, error: string): void;
}

/** `drainingBy` of a worker that drained itself (its heartbeat said so). */
const SELF = 'worker';

/** A worker told to stop a job must have a few seconds for it (its own grace period applies). */
const STALE_STOP_TIMEOUT_MS = 30_000;

/**
 * Every worker the scheduler knows, in memory (the request path reads it without I/O) and
 * mirrored to the store. Nothing here holds a lock across a network call: each worker has
 * its own channel, and store writes that callers need not wait for are fire-and-forget.
 */
export class Registry {
  private readonly workers = new Map<string, WorkerEntry>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  /** When each worker's heartbeat time was last written to the store. */
  private readonly persistedAt = new Map<string, number>();
  /** Per silent worker: when its window runs out, its attempts still `unknown` are lost. */
  private readonly lostTimers = new Map<string, NodeJS.Timeout>();
  /** Set once the dispatcher exists. */
  events: WorkerEvents | undefined;
  /** Shared store: this scheduler decides liveness and watches every worker's jobs (only one does). */
  private leading = false;
  /** Shared store: when this scheduler took the lead; every worker gets a grace from then. */
  private leaderSince = 0;
  private refreshing: Promise<void> | undefined;

  /**
   * `shared`: several schedulers on one store. Any of them takes registrations and heartbeats
   * and writes them through; the others pick them up from the store (`refresh`), and only the
   * leader (`lead`) marks workers down and watches their jobs.
   */
  constructor(
    private readonly store: Pick<Stores, 'workers' | 'jobs'>,
    private readonly applier: JobStatusApplier,
    private readonly bus: EventBus,
    private readonly heartbeatTtlMs: number,
    /** How long the attempts of a worker that stopped answering stay `unknown` before they are lost. */
    private readonly lostAfterMs: number,
    private readonly log: Logger,
    private readonly security: GrpcSecurity,
    private readonly shared = false,
  ) {}

  /**
   * Alone on the store: loads workers from an earlier run as `down` until they register again,
   * and starts the liveness sweep. Shared: loads them as stored (another scheduler may be
   * hearing from them), able to call the live ones; the sweep waits for `lead`.
   */
  async start(): Promise<void> {
    if (this.shared) {
      await this.refresh();
      return;
    }
    for (const w of await this.store.workers.listWorkers()) {
      const state: WorkerState = w.state === 'deregistered' ? 'deregistered' : 'down';
      this.workers.set(w.id, { ...w, state, running: 0, channel: undefined });
    }
    this.sweepTimer = setInterval(() => this.sweep(Date.now()), this.sweepEveryMs);
    this.sweepTimer.unref();
    // Workers from an earlier run get a grace to register again (a TTL, and at least long enough
    // for their registration retries, every second at most); then their jobs are unknown, and lost after the window.
    this.restartTimer = setTimeout(
      () => {
        const now = Date.now();
        for (const w of this.workers.values()) {
          if (w.state === 'down' && !w.channel)
            this.silent(w, `worker ${w.id} did not come back after the scheduler restarted (no heartbeat for ${seconds(now - w.lastHeartbeatAt)})`);
        }
      },
      Math.max(this.heartbeatTtlMs, RESTART_GRACE_MIN_MS),
    );
    this.restartTimer.unref();
  }

  /**
   * Shared store: from now on this scheduler marks silent workers down (each gets at least the
   * restart grace from now, time to fail over from a dead scheduler) and watches every live
   * worker's jobs.
   */
  lead(): void {
    this.leading = true;
    this.leaderSince = Date.now();
    for (const w of this.workers.values()) if (w.state === 'up') this.channelOf(w).watch();
    this.sweepTimer = setInterval(() => {
      void this.refresh().then(() => this.sweep(Date.now()));
    }, this.sweepEveryMs);
    this.sweepTimer.unref();
  }

  /**
   * Shared store: takes in what other schedulers wrote: new registrations, heartbeat times,
   * drains, and workers the leader marked down. Runs one at a time (a call during a refresh joins it).
   */
  refresh(): Promise<void> {
    this.refreshing ??= this.store.workers
      .listWorkers()
      .then((rows) => {
        for (const row of rows) this.merge(row);
        // Removed (by an admin, through any scheduler): only a worker that is not up can be.
        const stored = new Set(rows.map((r) => r.id));
        for (const w of this.workers.values()) if (!stored.has(w.id) && w.state !== 'up') this.forget(w, `worker ${w.id} was removed before it came back`);
      })
      .catch((err: unknown) => this.log.error({ err }, 'cannot read the workers other schedulers registered'))
      .finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private merge(row: WorkerRecord): void {
    const w = this.workers.get(row.id);
    if (!w || row.registeredAt > w.registeredAt) {
      // New, or registered again (here or elsewhere): the stored row is the whole truth.
      if (w?.channel && w.channel.address !== row.address) {
        w.channel.close();
        w.channel = undefined;
      }
      const entry: WorkerEntry = { ...row, running: w?.running ?? 0, channel: w?.channel };
      this.workers.set(row.id, entry);
      if (entry.state === 'up') this.cameUp(entry);
      return;
    }
    w.lastHeartbeatAt = Math.max(w.lastHeartbeatAt, row.lastHeartbeatAt);
    // The leader marks workers down itself; a follower learns it here.
    if (row.state !== w.state && (row.state === 'deregistered' || (row.state === 'down' && !this.leading))) w.state = row.state;
    if (row.drainingBy !== w.drainingBy) {
      w.drainingBy = row.drainingBy;
      if (row.drainingBy === '') this.events?.workerUp(w.id);
    }
  }

  /** Drops a removed worker; its attempts still `unknown` are lost now (`error`), not at the end of the window. */
  private forget(w: WorkerEntry, error: string): void {
    this.workers.delete(w.id);
    this.persistedAt.delete(w.id);
    w.channel?.close();
    w.channel = undefined;
    const lostTimer = this.lostTimers.get(w.id);
    if (lostTimer === undefined) return;
    clearTimeout(lostTimer);
    this.lostTimers.delete(w.id);
    this.events?.workerLost(w.id, error);
  }

  /** A worker registered with another scheduler: callable from here, watched if this one leads. */
  private cameUp(w: WorkerEntry): void {
    const channel = this.channelOf(w);
    if (!this.leading) return;
    channel.watch();
    this.events?.workerUp(w.id);
  }

  /** The worker's channel, opened on first use (shared store: a worker registered elsewhere is dialled from here too). */
  private channelOf(w: WorkerEntry): WorkerChannel {
    w.channel ??= this.newChannel(w.id, w.address);
    return w.channel;
  }

  private newChannel(id: string, address: string): WorkerChannel {
    return new WorkerChannel(
      id,
      address,
      (s, ranFirst) => this.applier.applyWorkerStatus(id, s, ranFirst),
      this.log,
      this.security,
      () => this.reachabilityChanged(id),
    );
  }

  /** The worker's channel found it cannot dial the worker, or can again: one line, a worker event, and placements resume. */
  private reachabilityChanged(id: string): void {
    const w = this.workers.get(id);
    const why = w?.channel?.unreachable;
    if (!w?.channel) return;
    if (why !== undefined) {
      this.log.warn(
        { worker_id: id, address: w.address, reason: why },
        'worker unreachable: no job is placed on it until the scheduler can connect (is the address it advertises right?)',
      );
    } else {
      this.log.info({ worker_id: id, address: w.address }, 'worker reachable again');
    }
    this.bus.emit('worker', w);
    if (why === undefined) this.events?.workerUp(id);
  }

  /** A quarter of the TTL, between 0.1 s and 1 s: a silent worker is marked down at most that late. */
  private get sweepEveryMs(): number {
    return Math.max(100, Math.min(1000, Math.floor(this.heartbeatTtlMs / 4)));
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
        channel = this.newChannel(req.workerId, req.address);
      } catch (err) {
        // clientCredentials refuses plaintext to a non-loopback address.
        throw new BatonError('BAD_REQUEST', (err as Error).message);
      }
    }
    // An admin's drain outlasts a restart; a worker's own (it was shutting down) does not.
    const drainingBy = previous && previous.drainingBy !== SELF ? previous.drainingBy : '';
    const entry: WorkerEntry = {
      id: req.workerId,
      address: req.address,
      labels: req.labels,
      capacity: req.capacity,
      state: 'up',
      lastHeartbeatAt: now,
      registeredAt: now,
      version: req.version,
      drainingBy,
      running: 0,
      channel,
    };
    this.workers.set(entry.id, entry);
    // It answers again: what it reports (and the dispatcher's check of what it does not) settles its unknown attempts.
    clearTimeout(this.lostTimers.get(entry.id));
    this.lostTimers.delete(entry.id);
    await this.store.workers.upsertWorker(entry);
    this.persistedAt.set(entry.id, now);
    this.log.info(
      { worker_id: entry.id, state: 'up', previous: previous?.state ?? null, address: entry.address, capacity: entry.capacity, jobs: req.jobs.length },
      'worker state changed',
    );
    this.bus.emit('worker', entry);
    // Jobs that ended while the scheduler was away get their final state now.
    for (const status of req.jobs) await this.reconcile(entry.id, channel, status);
    // Shared store: only the leader watches (a follower's statuses would be applied twice).
    if (!this.shared || this.leading) channel.watch();
    this.events?.workerUp(entry.id, new Set(req.jobs.map((j) => j.jobId)));
  }

  /**
   * A job the returning worker reports. An attempt the scheduler gave up on (marked lost,
   * retried elsewhere, stopped) but still live on the worker is stopped there, so no job
   * ever runs twice at once; anything else is applied like a status from the stream.
   */
  private async reconcile(workerId: string, channel: WorkerChannel, status: JobStatus): Promise<void> {
    const reported = fromWorkerState(status.state);
    if (reported !== null && !isFinal(reported)) {
      const { jobId, attempt } = parseRunId(status.jobId);
      const job = (await this.store.jobs.getJob(jobId))?.job;
      if (!job || job.attempt !== attempt || job.workerId !== workerId || isFinal(job.state)) {
        const why = !job
          ? 'unknown job'
          : isFinal(job.state) && job.attempt === attempt
            ? `the job is ${job.state}`
            : `attempt ${attempt} was given up (the job is on attempt ${job.attempt})`;
        this.log.warn({ job_id: jobId, attempt, worker_id: workerId, reason: why }, 'stopping a job the returning worker still runs');
        channel.stopJob(status.jobId, 0, STALE_STOP_TIMEOUT_MS).catch((err: unknown) => this.log.warn({ job_id: jobId, worker_id: workerId, err }, 'cannot stop a stale job'));
        return;
      }
    }
    await this.applier.applyWorkerStatus(workerId, status);
  }

  /**
   * False when the worker is unknown here or its lease ran out (the caller answers NOT_FOUND:
   * register again, reporting its jobs, which is how a returning worker's jobs are reconciled).
   */
  heartbeat(id: string, running: number, draining = false): boolean {
    const w = this.workers.get(id);
    // Shared store: a worker registered with another scheduler may heartbeat here after a failover.
    if (!w || (!w.channel && !this.shared) || w.state !== 'up') return false;
    w.lastHeartbeatAt = Date.now();
    w.running = running;
    // Alone, the stored time only matters after a restart (how long a worker has been silent and
    // the "no heartbeat for Ns" message): once per TTL is enough, and each write costs CPU that
    // 1,000 workers heartbeating every second multiply. Shared, the leader judges liveness from
    // the store, so every heartbeat goes there.
    if (this.shared) {
      this.store.workers.touchWorker(id, w.lastHeartbeatAt).catch((err: unknown) => this.log.error({ worker_id: id, err }, 'cannot record a heartbeat'));
    } else if (w.lastHeartbeatAt - (this.persistedAt.get(id) ?? 0) >= this.heartbeatTtlMs) {
      this.persist(w);
    }
    // A worker shutting down says so; only an admin (or its next registration) takes it out of draining.
    if (draining && w.drainingBy === '') this.setDraining(id, true, SELF);
    return true;
  }

  /**
   * Drains (`on`) a worker: it gets no new placements, its running jobs go on. `by` is who asked
   * (a token name, or "worker" for its own heartbeat). Undefined for an unknown worker.
   */
  setDraining(id: string, on: boolean, by: string): WorkerEntry | undefined {
    const w = this.workers.get(id);
    if (!w) return undefined;
    const drainingBy = on ? w.drainingBy || by : '';
    if (drainingBy === w.drainingBy) return w;
    w.drainingBy = drainingBy;
    this.log.info({ worker_id: id, draining: on, by }, on ? 'worker draining' : 'worker no longer draining');
    this.store.workers.setWorkerDraining(id, drainingBy).catch((err: unknown) => this.log.error({ worker_id: id, err }, 'cannot record worker draining'));
    this.bus.emit('worker', w);
    // Its room is open again.
    if (!on) this.events?.workerUp(id);
    return w;
  }

  /**
   * Forgets a worker that is not up (`baton workers rm`): it leaves the list, the store and
   * /metrics. Attempts of it still `unknown` are lost now rather than at the end of
   * `--lost-after` (retried by their policy): whoever removes it says it is not coming back.
   * A worker that registers again later is simply known again. Undefined for an unknown
   * worker; WORKER_UP for one that is up.
   */
  async remove(id: string, by: string): Promise<WorkerEntry | undefined> {
    const w = this.workers.get(id);
    if (!w) return undefined;
    const refuse = (): BatonError =>
      new BatonError('WORKER_UP', `worker "${id}" is up: only a worker that is down or deregistered can be removed (stop it first, or drain it to keep jobs off it)`);
    if (w.state === 'up') throw refuse();
    if (!(await this.store.workers.removeWorker(id))) {
      // Shared store: it may have registered with another scheduler meanwhile.
      const row = (await this.store.workers.listWorkers()).find((r) => r.id === id);
      if (row?.state === 'up') throw refuse();
    }
    // It registered here while the store was asked: it stays (a later remove finds it up). A closure: read now, not as narrowed above.
    const registeredMeanwhile = (): boolean => this.workers.get(id) !== w || w.state === 'up';
    if (registeredMeanwhile()) throw refuse();
    this.log.info({ worker_id: id, state: w.state, by }, 'worker removed');
    this.forget(w, `worker ${id} was removed by ${by} before it came back`);
    this.bus.emit('workerRemoved', w);
    return w;
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

  /** Marks `down` every live worker silent for longer than the TTL; their attempts are unknown. */
  sweep(now: number): void {
    // A new leader gives every worker the restart grace from the moment it took the lead.
    const graceFrom = this.leaderSince + Math.max(this.heartbeatTtlMs, RESTART_GRACE_MIN_MS) - this.heartbeatTtlMs;
    for (const w of this.workers.values()) {
      if (w.state === 'up' && now - Math.max(w.lastHeartbeatAt, graceFrom) > this.heartbeatTtlMs) {
        this.silent(w, `worker ${w.id} stopped answering (no heartbeat for ${seconds(now - w.lastHeartbeatAt)})`);
      }
    }
  }

  /**
   * The worker's heartbeat stream broke (its process died, or its connection did): the fast
   * signal, at once rather than at the TTL. A worker that is in fact alive finds its next
   * heartbeat refused and registers again, which reconciles its jobs.
   */
  heartbeatStreamBroke(id: string): void {
    // Shared store: only the leader judges liveness. A worker shutting down (it said so) closes its stream before it deregisters.
    if (this.shared && !this.leading) return;
    const w = this.workers.get(id);
    if (w?.state !== 'up' || w.drainingBy === SELF) return;
    this.silent(w, `worker ${w.id} stopped answering (its heartbeat stream broke)`);
  }

  /** Down, its attempts `unknown` (with `reason`), and lost unless they are heard of again within the window. */
  private silent(w: WorkerEntry, reason: string): void {
    if (w.state === 'up') this.setState(w, 'down', reason);
    this.events?.workerSilent(w.id, reason);
    clearTimeout(this.lostTimers.get(w.id));
    const timer = setTimeout(() => {
      this.lostTimers.delete(w.id);
      this.events?.workerLost(w.id, `${reason}; no answer within ${seconds(this.lostAfterMs)} (--lost-after)`);
    }, this.lostAfterMs);
    timer.unref();
    this.lostTimers.set(w.id, timer);
  }

  close(): void {
    clearInterval(this.sweepTimer);
    clearTimeout(this.restartTimer);
    for (const timer of this.lostTimers.values()) clearTimeout(timer);
    this.lostTimers.clear();
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
    this.bus.emit('worker', w);
  }

  private persist(w: WorkerEntry): void {
    this.persistedAt.set(w.id, w.lastHeartbeatAt);
    this.store.workers.setWorkerState(w.id, w.state, w.lastHeartbeatAt).catch((err: unknown) => this.log.error({ worker_id: w.id, err }, 'cannot record worker state'));
  }
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)}s`;
}
