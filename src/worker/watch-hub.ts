import type { ServerWritableStream } from '@grpc/grpc-js';
import type { WatchJobsRequest, WatchJobsResponse } from '../gen/baton/v1/worker.js';
import type { JobChange, JobTable } from './job-table.js';
import { ReportHold } from './report-hold.js';

type WatchCall = ServerWritableStream<WatchJobsRequest, WatchJobsResponse>;

/**
 * The open WatchJobs streams: each gets the known jobs, then every change, a job's STARTING and
 * RUNNING held a moment for its end (./report-hold.ts).
 */
export class WatchHub {
  private readonly calls = new Set<WatchCall>();
  private timer: NodeJS.Timeout | undefined;
  /** Jobs whose output is being read live, with how many readers. */
  private readonly followed = new Map<string, number>();

  constructor(
    private readonly table: JobTable,
    private readonly hold = new ReportHold(),
  ) {
    table.subscribe((change) => this.send(this.hold.offer(change, Date.now(), table.active, this.followed.has(change.status.jobId))));
  }

  /** Sends the job's held report now: its output is being read, or its status asked for, so it should be seen as it is. */
  release(jobId: string): void {
    this.send(this.hold.release(jobId));
  }

  /**
   * Someone reads the job's output live (a StreamJob): its held report goes now and its next
   * ones are not held, so a job whose output is seen is seen running. Returns the end of it.
   */
  follow(jobId: string): () => void {
    this.followed.set(jobId, (this.followed.get(jobId) ?? 0) + 1);
    this.release(jobId);
    return () => {
      const left = (this.followed.get(jobId) ?? 1) - 1;
      if (left > 0) this.followed.set(jobId, left);
      else this.followed.delete(jobId);
    };
  }

  attach(call: WatchCall): void {
    // seq restarts at 1 in each worker process: a seq beyond ours is from an earlier
    // run, so the watcher knows nothing of this one and gets every job.
    const afterSeq = call.request.afterSeq > this.table.currentSeq ? 0 : call.request.afterSeq;
    // The snapshot has each job's latest status, held ones too (sent again when they leave the
    // hold, which is harmless); what follows comes from the hold, in the same turn: nothing falls between.
    for (const { seq, status } of this.table.changesAfter(afterSeq)) write(call, seq, status);
    const detach = (): void => void this.calls.delete(call);
    this.calls.add(call);
    call.once('cancelled', detach);
    call.once('close', detach);
  }

  /** Sends what is held, ends every stream and waits (at most `timeoutMs`) until what was written has been sent. */
  async closeAll(timeoutMs: number): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.send(this.hold.flush());
    const flushed = [...this.calls].map((call) => {
      this.calls.delete(call);
      return new Promise<void>((resolve) => {
        if (call.cancelled || !call.writable) return resolve();
        call.once('finish', () => resolve());
        call.once('close', () => resolve());
        call.end();
      });
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([Promise.all(flushed), timeout]);
    clearTimeout(timer);
  }

  private send(changes: JobChange[]): void {
    for (const { seq, status } of changes) for (const call of this.calls) write(call, seq, status);
    this.timer ??= this.armTimer();
  }

  /** A timer for the next held change due, or none when nothing waits. */
  private armTimer(): NodeJS.Timeout | undefined {
    const due = this.hold.nextDue();
    if (due === undefined) return undefined;
    const timer = setTimeout(
      () => {
        this.timer = undefined;
        this.send(this.hold.due(Date.now()));
      },
      Math.max(0, due - Date.now()),
    );
    timer.unref();
    return timer;
  }
}

function write(call: WatchCall, seq: number, status: JobChange['status']): void {
  if (!call.cancelled && call.writable) call.write({ seq, status });
}
