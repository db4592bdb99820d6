import { BatonApiError, isFinalJobState, type BatonClient, type JobDetail, type OutputStream } from '../client/index.js';
import { exitQuietlyOnEpipe, printJson, sayReconnecting, sleep, writeChunk } from './client-options.js';
import { describeError } from './format/errors.js';
import { exitCodeFor } from './format/exit-code.js';

// How often a queued job is looked at while `baton run` waits for it to start.
const QUEUED_POLL_MS = 500;

/**
 * What `baton run` does after submitting: streams the output of every attempt (each under a
 * header when the job may be tried again) until the job is final; resolves with the exit
 * code to end with. Ctrl-C stops the job; a second one leaves it running.
 */
export async function attach(client: BatonClient, jobId: string, json: boolean): Promise<number> {
  const sink = json ? process.stderr : process.stdout;
  exitQuietlyOnEpipe();
  let interrupts = 0;
  const onInterrupt = (): void => {
    interrupts++;
    if (interrupts === 1) {
      process.stderr.write(`\nbaton: stopping job ${jobId} (Ctrl-C again to leave it running)\n`);
      client.stopJob(jobId).catch((err: unknown) => process.stderr.write(`baton: could not stop job ${jobId}: ${(err as Error).message}\n`));
      return;
    }
    process.stderr.write(`baton: job ${jobId} left running; \`baton logs -f ${jobId}\` follows it, \`baton stop ${jobId}\` stops it\n`);
    process.exit(130);
  };
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onInterrupt);
  try {
    for (let attempt = 1; ; attempt++) {
      const placed = await untilPlaced(client, jobId, attempt, () => interrupts > 0);
      if (placed.workerId === null) {
        // Stopped (Ctrl-C) or ended while it waited: there is no output to follow.
        if (json) printJson(placed.job);
        else process.stderr.write(`baton: job ${jobId} ${placed.job.state}${placed.job.error ? `: ${placed.job.error}` : ''}\n`);
        return exitCodeFor(placed.job) ?? 1;
      }
      const of = placed.job.retry.max_attempts;
      if (of > 1) process.stderr.write(`baton: attempt ${attempt} of ${of} on ${placed.workerId}\n`);
      try {
        await followAttempt(client, jobId, attempt, sink);
      } catch (err) {
        // Its worker went away and did not come back in time (the stream resumes when it does): the scheduler decides what becomes of the attempt.
        process.stderr.write(`baton: the output of attempt ${attempt} broke off: ${describeError(err)}\n`);
      }
      const job = await attemptOver(client, jobId, attempt);
      if (!isFinalJobState(job.state) || job.attempt > attempt) {
        const ended = job.attempts.find((a) => a.number === attempt);
        process.stderr.write(`baton: attempt ${attempt} of ${of} ${ended?.state ?? 'ended'}${ended?.error ? `: ${ended.error}` : ''}\n`);
        continue;
      }
      if (json) printJson(job);
      else if (job.state !== 'succeeded' && job.state !== 'failed') process.stderr.write(`baton: job ${jobId} ${job.state}${job.error ? `: ${job.error}` : ''}\n`);
      return exitCodeFor(job) ?? 1;
    }
  } finally {
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
  }
}

/**
 * Follows an attempt's stdout to `sink` and its stderr to our stderr: two streams, so their
 * order between them is as between any two pipes. An attempt whose streams were not kept
 * apart (an earlier release's supervisor ran it) is followed whole to `sink`.
 */
async function followAttempt(client: BatonClient, jobId: string, attempt: number, sink: NodeJS.WritableStream): Promise<void> {
  const left = new AbortController();
  let failure: unknown;
  const follow = async (stream: OutputStream, to: NodeJS.WritableStream): Promise<void> => {
    try {
      for await (const chunk of client.output(jobId, { follow: true, attempt, stream, onReconnecting: sayReconnecting, signal: left.signal })) await writeChunk(to, chunk);
    } catch (err) {
      // The first to break off is the reason; the other stops too.
      if (!left.signal.aborted) failure = err;
      left.abort();
    }
  };
  await Promise.all([follow('stdout', sink), follow('stderr', process.stderr)]);
  if (failure instanceof BatonApiError && failure.code === 'output_not_split') {
    for await (const chunk of client.output(jobId, { follow: true, attempt, onReconnecting: sayReconnecting })) await writeChunk(sink, chunk);
    return;
  }
  if (failure !== undefined) throw failure;
}

/**
 * Waits until attempt `attempt` has a worker (its output can be followed) or the job ended
 * without it (stopped while queued). While the job waits for a place, a status line on
 * stderr says why (updated when the reason changes); a retry's backoff was said already.
 */
async function untilPlaced(client: BatonClient, jobId: string, attempt: number, interrupted: () => boolean): Promise<{ job: JobDetail; workerId: string | null }> {
  let shown = '';
  for (;;) {
    const job = await client.getJob(jobId);
    const workerId = job.attempts.find((a) => a.number === attempt)?.worker_id ?? null;
    if (workerId !== null || isFinalJobState(job.state)) {
      if (shown && process.stderr.isTTY) process.stderr.write('\n');
      return { job, workerId };
    }
    if (!interrupted() && job.next_attempt_at === null) {
      const line = `baton: job ${jobId} ${job.state}${job.reason ? `: ${job.reason}` : ''}`;
      if (line !== shown) {
        process.stderr.write(process.stderr.isTTY ? `\r\x1b[K${line}` : `${line}\n`);
        shown = line;
      }
    }
    await sleep(QUEUED_POLL_MS);
  }
}

/**
 * The output ends when the process does; the scheduler records how the attempt ended a moment
 * later (or, when its worker went silent, once it comes back or is given up as lost).
 */
async function attemptOver(client: BatonClient, jobId: string, attempt: number): Promise<JobDetail> {
  for (let delay = 20; ; delay = Math.min(delay * 2, 500)) {
    const job = await client.getJob(jobId);
    if (isFinalJobState(job.state) || job.attempt > attempt) return job;
    await sleep(delay);
  }
}
