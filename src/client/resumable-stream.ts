import { isAbortError } from './errors.js';
import { afterFailedReopen, isResumable, reopenDelayMs, type AttemptCheck } from './resume.js';
import { sleep } from './retry.js';

/** Where a (re)opened output stream starts: the byte the reader reached, of the attempt it follows. */
export interface ResumePoint {
  offset: number;
  /** Unknown until the first answer names it (the `Baton-Attempt` header). */
  attempt: number | undefined;
}

export interface ResumableSource {
  /** Asks for the output from `from`; resolves with a 2xx response or rejects with the client's error. */
  open(from: ResumePoint): Promise<Response>;
  /** Whether the attempt (undefined: the job) is over; rejects with the client's error when it cannot tell. */
  attemptOver(attempt: number | undefined): Promise<boolean>;
  /** A body read that failed, as the client's error. */
  failure(err: unknown): unknown;
  /** Told before each reopen after the stream broke off, with why and the byte it resumes at. */
  onReconnecting?: (reason: unknown, offset: number) => void;
  signal?: AbortSignal;
}

/** The response's `Baton-Attempt` header (an older scheduler sends none). */
export function attemptOf(res: Response): number | undefined {
  const value = Number(res.headers.get('baton-attempt'));
  return Number.isInteger(value) && value > 0 ? value : undefined;
}

/** The response's `Baton-Offset` header: the byte its body starts at (not 0 when asked for a tail); an older scheduler sends none. */
export function startOf(res: Response): number | undefined {
  const value = Number(res.headers.get('baton-offset'));
  return res.headers.has('baton-offset') && Number.isInteger(value) && value >= 0 ? value : undefined;
}

/**
 * A followed output that carries on across its worker's restart (or the scheduler's): each
 * time the stream breaks off it is asked for again from the byte reached, pinned to the
 * attempt the first answer named, so the bytes yielded are the output once, in order. Gives
 * up with the error when the attempt is over and still unreadable, or the scheduler stays
 * away (rules in ./resume.ts).
 */
export async function* resumableStream(source: ResumableSource): AsyncGenerator<Uint8Array, void, undefined> {
  const at: ResumePoint = { offset: 0, attempt: undefined };
  let tries = 0;
  let schedulerAwaySince: number | undefined;
  for (;;) {
    let res: Response;
    try {
      res = await source.open(at);
    } catch (err) {
      if (!isResumable(err) || source.signal?.aborted) throw err;
      const check = tries === 0 ? undefined : await checkAttempt(source, at.attempt);
      if (check === 'scheduler-away') schedulerAwaySince ??= Date.now();
      else if (check === 'running') schedulerAwaySince = undefined;
      if (afterFailedReopen(tries, check, schedulerAwaySince === undefined ? 0 : Date.now() - schedulerAwaySince) === 'give-up') throw err;
      tries++;
      await pause(reopenDelayMs(tries), source.signal);
      continue;
    }
    if (at.attempt === undefined) {
      at.attempt = attemptOf(res);
      // The first answer may start past byte 0 (a tail): count from where it starts.
      at.offset = startOf(res) ?? at.offset;
    }
    schedulerAwaySince = undefined;
    const before = at.offset;
    try {
      for await (const chunk of readBody(res, source)) {
        at.offset += chunk.byteLength;
        yield chunk;
      }
      return;
    } catch (err) {
      if (!isResumable(err) || source.signal?.aborted) throw err;
      // A stream that broke off after giving bytes is reopened at once; one that gave none counts as a failed try (no tight loop).
      tries = at.offset > before ? 0 : tries + 1;
      source.onReconnecting?.(err, at.offset);
      await pause(reopenDelayMs(tries), source.signal);
    }
  }
}

async function* readBody(res: Response, source: ResumableSource): AsyncGenerator<Uint8Array, void, undefined> {
  if (!res.body) return;
  const reader = res.body.getReader();
  try {
    for (;;) {
      const read = await reader.read().catch((err: unknown) => {
        throw source.failure(err);
      });
      if (read.done) return;
      yield read.value;
    }
  } finally {
    // Leaving early (break, abort, error) closes the request; after the end it is a no-op.
    await reader.cancel().catch(() => undefined);
  }
}

async function checkAttempt(source: ResumableSource, attempt: number | undefined): Promise<AttemptCheck> {
  try {
    return (await source.attemptOver(attempt)) ? 'over' : 'running';
  } catch (err) {
    if (isAbortError(err) || source.signal?.aborted) throw err;
    // The job is gone or not ours to see: nothing to wait for.
    return isResumable(err) ? 'scheduler-away' : 'over';
  }
}

/** A reopen's wait: none before the first try, else retry.ts's abortable sleep. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return ms <= 0 ? Promise.resolve() : sleep(ms, signal);
}
