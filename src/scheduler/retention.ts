import { formatDuration } from '../common/duration.js';
import type { Logger } from '../common/logger.js';
import type { JobStore } from './store/job-store.js';
import type { OutputStore } from './store/output-store.js';

/** What is kept; 0 keeps for ever (or without a budget). */
export interface RetentionOptions {
  /** Finished attempts' output is deleted this long after it was kept. */
  outputRetentionMs: number;
  /** The kept outputs' bytes, at most; the oldest go first. */
  outputBudgetBytes: number;
  /** Jobs (with their attempts, events and output) are deleted this long after they finished. */
  jobRetentionMs: number;
}

/** Outputs per prune, at most. */
const OUTPUT_BATCH = 200;
/** Bytes per output prune, at most (but always one output): a short transaction whatever the outputs' sizes. */
const OUTPUT_BATCH_BYTES = 16 * 1024 * 1024;
/** Jobs per prune. */
const JOB_BATCH = 200;
/**
 * After each batch, a pause this many times as long as the batch took: pruning takes at most a
 * fifth of the scheduler's time (SQLite writes are synchronous on its event loop), however much
 * is to go, so dispatch keeps most of its speed and a backlog still goes in minutes, not hours.
 */
const PAUSE_FACTOR = 4;
/** How often a long backlog's progress is logged. */
const LOG_EVERY_MS = 1_000;
const MIN_INTERVAL_MS = 1_000;
const MAX_INTERVAL_MS = 60_000;

/**
 * Deletes what is kept past its time or budget, in small batches with a pause between them,
 * so dispatch and the API never wait behind a long delete, until none is left. Runs on the
 * scheduler that leads (or the only one).
 */
export class Retention {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private closed = false;

  constructor(
    private readonly jobs: JobStore,
    private readonly outputs: OutputStore,
    private readonly options: RetentionOptions,
    private readonly log: Logger,
  ) {}

  /** How often a round runs: a quarter of the shortest retention, between 1 s and 1 min. */
  get intervalMs(): number {
    const ages = [this.options.outputRetentionMs, this.options.jobRetentionMs].filter((ms) => ms > 0);
    const shortest = ages.length > 0 ? Math.min(...ages) : MAX_INTERVAL_MS * 4;
    return Math.min(MAX_INTERVAL_MS, Math.max(MIN_INTERVAL_MS, Math.floor(shortest / 4)));
  }

  start(): void {
    const { outputRetentionMs, outputBudgetBytes, jobRetentionMs } = this.options;
    if (this.closed || this.timer || (outputRetentionMs === 0 && outputBudgetBytes === 0 && jobRetentionMs === 0)) return;
    this.timer = setInterval(() => void this.round(), this.intervalMs);
    this.timer.unref();
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
  }

  /** One round: each kind in batches until none is left. */
  async round(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const { outputRetentionMs, outputBudgetBytes, jobRetentionMs } = this.options;
    try {
      const now = Date.now();
      if (outputRetentionMs > 0) {
        await this.batches('output past --output-retention', () =>
          this.outputs.pruneOutputs(
            { completedBefore: now - outputRetentionMs, maxBytes: OUTPUT_BATCH_BYTES },
            `kept for --output-retention ${formatDuration(outputRetentionMs)}`,
            OUTPUT_BATCH,
            Date.now(),
          ),
        );
      }
      if (outputBudgetBytes > 0) {
        await this.batches('output over --output-budget', () =>
          this.outputs.pruneOutputs(
            { keepBytes: outputBudgetBytes, maxBytes: OUTPUT_BATCH_BYTES },
            `the oldest output beyond --output-budget (${outputBudgetBytes} bytes)`,
            OUTPUT_BATCH,
            Date.now(),
          ),
        );
      }
      if (jobRetentionMs > 0) {
        await this.batches('jobs past --job-retention', async () => {
          const ids = await this.jobs.pruneJobs(now - jobRetentionMs, JOB_BATCH);
          await this.outputs.forgetOutputs(ids);
          return ids.length;
        });
      }
    } catch (err) {
      this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'retention round failed; the next one tries again');
    } finally {
      this.running = false;
    }
  }

  /**
   * Batches until none is left, each followed by a pause (PAUSE_FACTOR) in which dispatch and
   * the API run; one line per LOG_EVERY_MS of a long backlog, and one at its end.
   */
  private async batches(what: string, batch: () => Promise<number>): Promise<void> {
    let deleted = 0;
    let loggedAt = performance.now();
    const logDeleted = (): void => {
      if (deleted > 0) this.log.info({ deleted, what }, 'retention: deleted');
      deleted = 0;
      loggedAt = performance.now();
    };
    while (!this.closed) {
      const started = performance.now();
      const n = await batch();
      deleted += n;
      if (n === 0) break;
      if (performance.now() - loggedAt >= LOG_EVERY_MS) logDeleted();
      const pauseMs = (performance.now() - started) * PAUSE_FACTOR;
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
    logDeleted();
  }
}
