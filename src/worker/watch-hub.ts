import type { ServerWritableStream } from '@grpc/grpc-js';
import type { WatchJobsRequest, WatchJobsResponse } from '../gen/baton/v1/worker.js';
import type { JobChange, JobTable } from './job-table.js';

type WatchCall = ServerWritableStream<WatchJobsRequest, WatchJobsResponse>;

/** The open WatchJobs streams: each gets the known jobs, then every change in seq order. */
export class WatchHub {
  private readonly calls = new Map<WatchCall, () => void>();

  constructor(private readonly table: JobTable) {}

  attach(call: WatchCall): void {
    const send = ({ seq, status }: JobChange): void => {
      if (!call.cancelled && call.writable) call.write({ seq, status });
    };
    // seq restarts at 1 in each worker process: a seq beyond ours is from an earlier
    // run, so the watcher knows nothing of this one and gets every job.
    const afterSeq = call.request.afterSeq > this.table.currentSeq ? 0 : call.request.afterSeq;
    // Snapshot and subscription happen in the same turn of the event loop: no change falls between.
    for (const change of this.table.changesAfter(afterSeq)) send(change);
    const unsubscribe = this.table.subscribe(send);
    const detach = (): void => {
      unsubscribe();
      this.calls.delete(call);
    };
    this.calls.set(call, detach);
    call.once('cancelled', detach);
    call.once('close', detach);
  }

  /** Ends every stream and waits (at most `timeoutMs`) until what was written has been sent. */
  async closeAll(timeoutMs: number): Promise<void> {
    const flushed = [...this.calls].map(([call, detach]) => {
      detach();
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
}
