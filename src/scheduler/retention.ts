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

/** Outputs per prune: each deletes up to the output cap's bytes, so a batch is a short transaction. */
const OUTPUT_BATCH = 8;
/** Jobs per prune. */
const JOB_BATCH = 200;
/** Batches per round at most, each after the event loop had a turn (dispatch, API) in between. */
const MAX_BATCHES = 20;
const MIN_INTERVAL_MS = 1_000;
const MAX_INTERVAL_MS = 60_000;

/**
 * Deletes what is kept past its time or budget, in small batches with a turn of the event
 * loop between them, so dispatch and the API never wait behind a long delete. Runs on the
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

  /** One round: each kind in batches until none is left or the round's batches are spent. */
  async round(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const { outputRetentionMs, outputBudgetBytes, jobRetentionMs } = this.options;
    try {
      const now = Date.now();
      if (outputRetentionMs > 0) {
        await this.batches('output past --output-retention', () =>
          this.outputs.pruneOutputs({ completedBefore: now - outputRetentionMs }, `kept for --output-retention ${formatDuration(outputRetentionMs)}`, OUTPUT_BATCH, Date.now()),
        );
      }
      if (outputBudgetBytes > 0) {
        await this.batches('output over --output-budget', () =>
          this.outputs.pruneOutputs({ keepBytes: outputBudgetBytes }, `the oldest output beyond --output-budget (${outputBudgetBytes} bytes)`, OUTPUT_BATCH, Date.now()),
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

  private async batches(what: string, batch: () => Promise<number>): Promise<void> {
    let deleted = 0;
    for (let i = 0; i < MAX_BATCHES && !this.closed; i++) {
      const n = await batch();
      deleted += n;
      if (n === 0) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (deleted > 0) this.log.info({ deleted, what }, 'retention: deleted');
  }
}
