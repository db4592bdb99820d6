import type { Logger } from '../common/logger.js';
import type { EventBus } from './events.js';
import type { JobStatusApplier } from './job-status.js';
import { parentState } from './parent-state.js';
import type { JobStore } from './store/job-store.js';

/**
 * Keeps each run_on-all parent's state the sum of its children's: a child's change makes the
 * parent's state be worked out again from the store (many changes at once, one look per parent).
 */
export class ParentJobs {
  private readonly due = new Set<string>();
  private running = false;

  constructor(
    private readonly store: JobStore,
    private readonly writer: JobStatusApplier,
    bus: EventBus,
    private readonly log: Logger,
  ) {
    bus.on('job', (job) => {
      if (job.parentId === '') return;
      this.due.add(job.parentId);
      if (!this.running) {
        this.running = true;
        setImmediate(() => void this.update());
      }
    });
  }

  private async update(): Promise<void> {
    try {
      while (this.due.size > 0) {
        const [parentId] = this.due;
        this.due.delete(parentId!);
        try {
          await this.writer.summarise(parentId!, parentState(await this.store.childStates(parentId!)));
        } catch (err) {
          this.log.error({ job_id: parentId, err }, 'cannot sum up a run_on-all job');
        }
      }
    } finally {
      this.running = false;
    }
  }
}
