import type { BatonClient, RequestOptions, StopJobOptions } from './client.js';
import { isFinalJobState } from './job-states.js';
import { sleep } from './retry.js';
import type { Job, JobAttempt, JobDetail } from './types.js';

/** How often the job is looked at while its next attempt waits for a worker, or for its end to be recorded. */
const POLL_MS = 250;

function attemptOf(job: JobDetail, number: number): JobAttempt | undefined {
  return job.attempts.find((a) => a.number === number);
}

/**
 * A submitted job, as `BatonClient.run` answers it:
 *
 *     const job = await baton.run({ command: 'make', args: ['test'] });
 *     console.log(await job.output()); // once it ended
 *     const { state, exit_code } = await job.result();
 *
 * `stop()` ends it early. Failures are the client's (`BatonApiError`, `BatonConnectionError`).
 */
export class JobHandle {
  constructor(
    private readonly client: BatonClient,
    /** The job as the scheduler answered the submit (queued, or already placed). */
    readonly job: Job,
  ) {}

  get id(): string {
    return this.job.id;
  }

  /**
   * Waits for the job's end (every retry), then resolves with the output of the attempt that
   * ended it: stdout and stderr as written, as UTF-8 text; '' when it never ran.
   */
  async output(options: RequestOptions = {}): Promise<string> {
    const done = await this.result(options);
    if (!attemptOf(done, done.attempt)?.started_at) return '';
    const decoder = new TextDecoder();
    let text = '';
    for await (const chunk of this.client.output(this.id, { attempt: done.attempt, signal: options.signal })) text += decoder.decode(chunk, { stream: true });
    return text + decoder.decode();
  }

  /**
   * The output live, chunk by chunk as it is written, from the first byte of the first attempt
   * to the job's end: each attempt's in turn when it is tried again. Waits while an attempt is
   * queued. Leaving the loop (or aborting) closes the stream; the job goes on.
   */
  async *outputStream(options: RequestOptions = {}): AsyncGenerator<Uint8Array, void, undefined> {
    for (let attempt = 1; ; attempt++) {
      const placed = await this.until((j) => !!attemptOf(j, attempt)?.worker_id || isFinalJobState(j.state), options);
      if (!attemptOf(placed, attempt)?.worker_id) return; // it ended before this attempt had a worker
      yield* this.client.output(this.id, { follow: true, attempt, signal: options.signal });
      // The stream ends when the process does; the scheduler records the end a moment later.
      const over = await this.until((j) => isFinalJobState(j.state) || j.attempt > attempt, options);
      if (over.attempt <= attempt) return;
    }
  }

  /** Waits as long as it takes for the job's final state; `state` and `exit_code` say how it ended. */
  result(options?: RequestOptions): Promise<JobDetail> {
    return this.client.waitFinal(this.id, options);
  }

  /** SIGTERM to the job's processes, SIGKILL after the grace period; a queued job just ends `stopped`. */
  stop(options?: StopJobOptions): Promise<JobDetail> {
    return this.client.stopJob(this.id, options);
  }

  private async until(done: (job: JobDetail) => boolean, options: RequestOptions): Promise<JobDetail> {
    for (;;) {
      const job = await this.client.getJob(this.id, options);
      if (done(job)) return job;
      await sleep(POLL_MS, options.signal);
    }
  }
}
