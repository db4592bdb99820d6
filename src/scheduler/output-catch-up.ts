import type { Logger } from '../common/logger.js';
import type { OutputKeeper } from './output-keeper.js';
import type { OutputStore } from './store/output-store.js';

/** How often the leader looks for ended attempts whose output was not kept. */
const SWEEP_INTERVAL_MS = 30_000;
/** Attempts handed to the keeper per sweep: it copies two at a time, so a sweep is a short queue, not a flood. */
const SWEEP_BATCH = 8;
/** After a sweep that found a full batch, the next one comes this soon (the keeper skips it while still copying). */
const CATCHING_UP_MS = 2_000;
/** With replicas, an incomplete copy younger than this may be one another scheduler is making. */
const SHARED_STALE_MS = 10 * 60_000;

/**
 * Catches up on output the keeper did not keep when its attempt ended: the copy failed, the
 * worker was gone (and is back), or no scheduler was running (or one died mid-copy). The
 * leading scheduler looks now and then, and when a worker comes up, for ended attempts on
 * workers that are up without a complete kept output, and hands a few at a time to the keeper.
 */
export class OutputCatchUp {
  private timer: NodeJS.Timeout | undefined;
  private sweeping = false;
  private again = false;
  private readonly startedAt = Date.now();
  private readonly up = new Set<string>();

  constructor(
    private readonly store: OutputStore,
    private readonly keeper: OutputKeeper,
    /** Ids of the workers that are up and connected here. */
    private readonly upWorkers: () => string[],
    /** Other schedulers share the store (and may be copying). */
    private readonly shared: boolean,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.timer.unref();
    this.sweep();
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** A worker changed: one that has come up may hold outputs that were not kept. */
  workerChanged(workerId: string, up: boolean): void {
    if (!up) {
      this.up.delete(workerId);
      return;
    }
    if (this.up.has(workerId)) return;
    this.up.add(workerId);
    this.sweep();
  }

  /** A sweep now, unless one runs: then one more after it. */
  sweep(): void {
    if (!this.timer) return;
    if (this.sweeping) {
      this.again = true;
      return;
    }
    this.sweeping = true;
    this.once()
      .catch((err: unknown) => this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'output catch-up sweep failed; the next one tries again'))
      .finally(() => {
        this.sweeping = false;
        if (this.again) {
          this.again = false;
          this.sweep();
        }
      });
  }

  private async once(): Promise<void> {
    // The keeper still has copies to make: they come first, and may be the very attempts a sweep would find.
    if (this.keeper.queued > 0) return;
    // Alone on the store, a copy begun before this scheduler started is one nobody is making.
    const staleBefore = this.shared ? Date.now() - SHARED_STALE_MS : this.startedAt;
    const missing = await this.store.missingOutputs(this.upWorkers(), staleBefore, SWEEP_BATCH * 4);
    const todo = missing.filter((m) => !this.keeper.handled(m.jobId, m.attempt)).slice(0, SWEEP_BATCH);
    if (todo.length === SWEEP_BATCH) setTimeout(() => this.sweep(), CATCHING_UP_MS).unref();
    for (const m of todo) {
      this.log.info({ job_id: m.jobId, attempt: m.attempt, worker_id: m.workerId }, 'catching up: keeping an output that was not kept when its attempt ended');
      this.keeper.catchUp(m.jobId, m.attempt, m.workerId);
    }
  }
}
