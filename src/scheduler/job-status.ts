import type { Logger } from '../common/logger.js';
import type { JobStatus } from '../gen/baton/v1/common.js';
import { fromWorkerState } from './job-state.js';
import type { StatusUpdate, Store } from './store/store.js';

/** A worker's JobStatus as a store update; null when it carries no state. */
export function updateFromWorker(status: JobStatus): StatusUpdate | null {
  const state = fromWorkerState(status.state);
  if (state === null) return null;
  return {
    state,
    exitCode: status.exitCode ?? null,
    signal: status.signal,
    error: status.error,
    outputTruncated: status.outputTruncated,
    ...(status.startedAtMs > 0 && { startedAt: status.startedAtMs }),
    ...(status.finishedAtMs > 0 && { finishedAt: status.finishedAtMs }),
  };
}

/**
 * The one path by which job states change: through the store's checked update, with
 * one log line per change. Reports that would move a job backwards are logged and ignored.
 */
export class JobStatusApplier {
  constructor(
    private readonly store: Store,
    private readonly log: Logger,
  ) {}

  async apply(jobId: string, workerId: string, update: StatusUpdate): Promise<boolean> {
    const result = await this.store.applyStatus(jobId, workerId, update, Date.now());
    if (result.applied) {
      this.log.info(
        { job_id: jobId, worker_id: workerId, state: update.state, exit_code: update.exitCode ?? null, signal: update.signal || undefined, error: update.error || undefined },
        'job state changed',
      );
    } else if (result.current === undefined) {
      this.log.warn({ job_id: jobId, worker_id: workerId, state: update.state }, 'status for a job this worker does not own ignored');
    } else if (result.current !== update.state) {
      // Same-state repeats are normal (WatchJobs replays every job on reconnect); only a real regression is worth a line.
      this.log.info({ job_id: jobId, worker_id: workerId, state: update.state, current: result.current }, 'job status refused: it would move the job backwards');
    }
    return result.applied;
  }

  /** For reports from a worker; never throws (a bad report must not break the stream it came on). */
  async applyWorkerStatus(workerId: string, status: JobStatus): Promise<void> {
    const update = updateFromWorker(status);
    if (update === null) return;
    try {
      await this.apply(status.jobId, workerId, update);
    } catch (err) {
      this.log.error({ job_id: status.jobId, worker_id: workerId, err }, 'cannot record job status');
    }
  }
}
