import { BatonApiError, BatonConnectionError, describeNetworkError, isAbortError } from './errors.js';
import { JobHandle } from './job-handle.js';
import { isFinalJobState } from './job-states.js';
import { resumableStream } from './resumable-stream.js';
import { DEFAULT_RETRY, retryDelayMs, sleep, type RetryAfterPolicy } from './retry.js';
import { SseParser } from './sse.js';
import type {
  ApiToken,
  OutputStream,
  BatonEvent,
  CreatedApiToken,
  Health,
  TokenRole,
  Job,
  JobDetail,
  JobPage,
  ListJobsFilter,
  OriginalJobRef,
  OriginalQueryResult,
  OriginalStartRequest,
  OriginalStartResult,
  OriginalStopResult,
  OutputSearch,
  SubmitJobRequest,
  WaitResult,
  Worker,
  CreateScheduleRequest,
  Schedule,
  ScheduleDetail,
  UpdateScheduleRequest,
  WhoAmI,
} from './types.js';

export const DEFAULT_ADDRESS = 'http://127.0.0.1:7070';

export interface BatonClientOptions {
  /** The scheduler's HTTP address; default http://127.0.0.1:7070. "host:port" means http://host:port. */
  address?: string;
  /** An API token, sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** A `fetch` to use instead of the global one (tests, proxies, custom agents). */
  fetch?: typeof globalThis.fetch;
  /** An answer 429 or 503 with `Retry-After` is tried again after that long, up to this many times; default 3 (0: never). */
  retries?: number;
  /** A `Retry-After` longer than this is not waited for (the call fails with the answer); default 30,000. */
  maxRetryDelayMs?: number;
}

/** Every method takes these; `signal` aborts the call (and a running output stream). */
export interface RequestOptions {
  signal?: AbortSignal;
}

export interface OutputOptions extends RequestOptions {
  /**
   * Keep streaming until the job ends, instead of stopping at the output written so far. A
   * followed stream that breaks off (the job's worker restarting, the scheduler too) is asked
   * for again from the byte reached, of the same attempt: no byte twice, none missed.
   */
  follow?: boolean;
  /** This attempt's output (1 for the first); default: the attempt now live. */
  attempt?: number;
  /** Start at the last this many lines instead of the first byte. */
  tail?: number;
  /**
   * Only the job's stdout or only its stderr (`tail` and resuming then count that stream);
   * default both, interleaved. An attempt whose streams were not kept apart (run by an earlier
   * release's job supervisor) fails with `output_not_split`.
   */
  stream?: OutputStream;
  /** Start at this byte instead of the first (not with `tail`). */
  offset?: number;
  /** Called each time a followed stream broke off and is about to be asked for again from `offset`. */
  onReconnecting?: (reason: unknown, offset: number) => void;
}

/** Bytes of an output: `from` to `to` (inclusive; default its end), or its `last` N. */
export type OutputRange = { from: number; to?: number } | { last: number };

/** The bytes a range picked, the byte they start at, and the output's size when answered. */
export interface OutputPart {
  bytes: Uint8Array;
  start: number;
  size: number;
  attempt: number;
}

/** Which output a read takes: an attempt's (default the latest), whole or one of its streams. */
export interface OutputReadOptions extends RequestOptions {
  attempt?: number;
  /** Only the job's stdout or only its stderr (offsets then count that stream); fails with `output_not_split` as `output()` does. */
  stream?: OutputStream;
}

export interface OutputSearchOptions extends OutputReadOptions {
  /** At most this many matching lines (default 100, at most 1000). */
  limit?: number;
}

/** `stream()`'s: it always follows, and carries on across a worker restart as `output()` does. */
export type StreamOptions = Omit<OutputOptions, 'follow' | 'attempt'>;

export interface SubmitOptions extends RequestOptions {
  /** Sent as `Idempotency-Key`: the same key and body answer with the same job, never a second one. */
  idempotencyKey?: string;
}

export interface EventsOptions extends RequestOptions {
  /** Only this job's events. */
  jobId?: string;
  types?: Array<BatonEvent['type']>;
  /** Resume after this event id (missed events are replayed first). */
  lastEventId?: number;
  /** Called once the scheduler has accepted the stream (before any event: a quiet cluster sends none). */
  onOpen?: () => void;
}

export interface StopJobOptions extends RequestOptions {
  /** How long the job gets between SIGTERM and SIGKILL; default: the worker's --stop-grace. */
  graceMs?: number;
}

/** `"127.0.0.1:7070"` → `"http://127.0.0.1:7070"`; a trailing slash is dropped. */
export function normalizeAddress(address: string): string {
  const trimmed = address.trim().replace(/\/+$/, '');
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`;
  const url = new URL(withScheme);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`not an HTTP address: "${address}" (use e.g. http://127.0.0.1:7070)`);
  return withScheme;
}

/** `{state: 'running', limit: 10}` → `"?state=running&limit=10"`; undefined values are left out. */
export function queryString(params: Record<string, string | number | boolean | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined) search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** An error answer as a `BatonApiError`: the scheduler's `{"error","code"}`, else the status text. */
async function apiError(res: Response, method: string, path: string): Promise<BatonApiError> {
  let message = res.statusText || `HTTP ${res.status}`;
  let code: string | undefined;
  try {
    const parsed = JSON.parse(await res.text()) as { error?: unknown; code?: unknown };
    if (typeof parsed.error === 'string' && parsed.error) message = parsed.error;
    if (typeof parsed.code === 'string' && parsed.code) code = parsed.code;
  } catch {
    // no JSON error body: keep the status text
  }
  return new BatonApiError(res.status, message, method, path, code);
}

function idempotency(options: SubmitOptions | undefined): Record<string, string> {
  return options?.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {};
}

/**
 * A typed client for the scheduler's HTTP API: one method per call in the README's table.
 * Failures are `BatonApiError` (the scheduler answered with an error status and `code`) or
 * `BatonConnectionError` (it could not be reached); an aborted call rejects with the
 * signal's reason (an `AbortError`).
 */
export class BatonClient {
  readonly address: string;
  private readonly token: string | undefined;
  private readonly fetchFn: typeof globalThis.fetch;
  private readonly retry: RetryAfterPolicy;

  constructor(options: BatonClientOptions = {}) {
    this.address = normalizeAddress(options.address ?? DEFAULT_ADDRESS);
    this.retry = { retries: options.retries ?? DEFAULT_RETRY.retries, maxDelayMs: options.maxRetryDelayMs ?? DEFAULT_RETRY.maxDelayMs };
    this.token = options.token || undefined;
    // Called through a closure: a browser's fetch throws "Illegal invocation" when called as a method of another object.
    this.fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  // ---- health and workers ----

  /** `GET /healthz`. */
  health(options?: RequestOptions): Promise<Health> {
    return this.json('GET', '/healthz', undefined, options);
  }

  /** `GET /v1/workers`: every worker the scheduler knows, by id. */
  async listWorkers(options?: RequestOptions): Promise<Worker[]> {
    const { workers } = await this.json<{ workers: Worker[] }>('GET', '/v1/workers', undefined, options);
    return workers;
  }

  /** `POST /v1/workers/:id/drain` (admin): no new placements on the worker; its running jobs go on. */
  drainWorker(id: string, options?: RequestOptions): Promise<Worker> {
    return this.json('POST', `/v1/workers/${encodeURIComponent(id)}/drain`, undefined, options);
  }

  /** `DELETE /v1/workers/:id/drain` (admin): the worker takes jobs again. */
  undrainWorker(id: string, options?: RequestOptions): Promise<Worker> {
    return this.json('DELETE', `/v1/workers/${encodeURIComponent(id)}/drain`, undefined, options);
  }

  /** `DELETE /v1/workers/:id` (admin): forgets a worker that is down or deregistered; answers it as it was. */
  removeWorker(id: string, options?: RequestOptions): Promise<Worker> {
    return this.json('DELETE', `/v1/workers/${encodeURIComponent(id)}`, undefined, options);
  }

  /** `GET /v1/workers/:id`. */
  getWorker(id: string, options?: RequestOptions): Promise<Worker> {
    return this.json('GET', `/v1/workers/${encodeURIComponent(id)}`, undefined, options);
  }

  // ---- jobs (/v1) ----

  /** `POST /v1/jobs`: a job placed by the scheduler (or on `worker_id`); resolves with the new job, queued or started. */
  submitJob(request: SubmitJobRequest, options?: SubmitOptions): Promise<Job> {
    return this.json('POST', '/v1/jobs', request, options, idempotency(options));
  }

  /** Submits a job (`POST /v1/jobs`) and resolves with a handle to it: `output()`, `result()`, `stop()`. */
  async run(request: SubmitJobRequest, options?: SubmitOptions): Promise<JobHandle> {
    return new JobHandle(this, await this.submitJob(request, options));
  }

  /** `POST /v1/jobs/batch`: up to 1,000 jobs at once, all or none; resolves with them in order. */
  async submitBatch(requests: SubmitJobRequest[], options?: SubmitOptions): Promise<Job[]> {
    return (await this.json<{ jobs: Job[] }>('POST', '/v1/jobs/batch', { jobs: requests }, options, idempotency(options))).jobs;
  }

  /**
   * `GET /v1/jobs/:id/wait`: resolves when the job is final (`done`), or after `timeoutSeconds`
   * (at most 300) with the job as it is.
   */
  async waitJob(id: string, timeoutSeconds = 30, options?: RequestOptions): Promise<WaitResult> {
    const res = await this.request('GET', `/v1/jobs/${encodeURIComponent(id)}/wait?timeout=${timeoutSeconds}`, undefined, options?.signal);
    const job = await this.parse<JobDetail>(res, 'GET', '/v1/jobs/:id/wait', options);
    return { done: res.status === 200, job };
  }

  /** Waits as long as it takes (in 300 s calls) for the job's final state. */
  async waitFinal(id: string, options?: RequestOptions): Promise<JobDetail> {
    for (;;) {
      const { done, job } = await this.waitJob(id, 300, options);
      if (done) return job;
    }
  }

  /**
   * `GET /v1/events`: every job, worker and schedule change as it happens, as an async iterable. With
   * `lastEventId` the missed ones come first. Leaving the loop (or aborting) closes the stream.
   */
  async *events(options: EventsOptions = {}): AsyncGenerator<BatonEvent, void, undefined> {
    const query = queryString({ job_id: options.jobId, types: options.types?.join(','), last_event_id: options.lastEventId });
    const parser = new SseParser();
    const decoder = new TextDecoder();
    for await (const chunk of this.streamBody('GET', `/v1/events${query}`, undefined, options, options.onOpen)) {
      for (const m of parser.push(decoder.decode(chunk, { stream: true }))) {
        const data = JSON.parse(m.data) as unknown;
        const id = Number(m.id);
        if (m.event === 'job') yield { id, type: 'job', job: data as Job };
        else if (m.event === 'worker') {
          const { removed, ...worker } = data as Worker & { removed?: boolean };
          yield removed === true ? { id, type: 'worker', worker, removed: true } : { id, type: 'worker', worker };
        } else if (m.event === 'schedule') yield { id, type: 'schedule', schedule: data as Schedule | { name: string; deleted: true } };
      }
    }
  }

  /** `GET /v1/jobs`: one page, newest first. Pass `next_cursor` back as `cursor` for the next. */
  listJobs(filter: ListJobsFilter = {}, options?: RequestOptions): Promise<JobPage> {
    const { state, worker_id, schedule, after, name, limit, cursor } = filter;
    return this.json('GET', `/v1/jobs${queryString({ state, worker_id, schedule, after, name, limit, cursor })}`, undefined, options);
  }

  /** Every page of `GET /v1/jobs` from `filter.cursor` on (`filter.limit` is the page size). */
  async *jobPages(filter: ListJobsFilter = {}, options?: RequestOptions): AsyncGenerator<JobPage, void, undefined> {
    let cursor = filter.cursor;
    do {
      const page = await this.listJobs({ ...filter, cursor }, options);
      yield page;
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
  }

  /** Every job matching the filter, newest first, fetched a page at a time as the loop goes on. */
  async *allJobs(filter: ListJobsFilter = {}, options?: RequestOptions): AsyncGenerator<Job, void, undefined> {
    for await (const page of this.jobPages(filter, options)) yield* page.jobs;
  }

  /** `GET /v1/jobs/:id`: the job with its attempts. */
  getJob(id: string, options?: RequestOptions): Promise<JobDetail> {
    return this.json('GET', `/v1/jobs/${encodeURIComponent(id)}`, undefined, options);
  }

  /** `POST /v1/jobs/:id/stop`: SIGTERM to the job's process group, SIGKILL after the grace period. */
  stopJob(id: string, options: StopJobOptions = {}): Promise<JobDetail> {
    const body = options.graceMs === undefined ? undefined : { grace: options.graceMs / 1000 };
    return this.json('POST', `/v1/jobs/${encodeURIComponent(id)}/stop`, body, options);
  }

  /**
   * `GET /v1/jobs/:id/output[?follow=true]`: the job's output (stdout and stderr as
   * written, or one of them with `stream`) from its first byte, as chunks. With `follow` the stream lasts until the job
   * ends. Leaving the loop early (or aborting) closes the request.
   */
  output(id: string, options: OutputOptions = {}): AsyncIterable<Uint8Array> {
    const path = `/v1/jobs/${encodeURIComponent(id)}/output`;
    const stream = options.stream;
    if (!options.follow)
      return this.streamBody('GET', `${path}${queryString({ attempt: options.attempt, tail: options.tail, offset: options.offset, stream })}`, undefined, options);
    let first = true;
    return resumableStream({
      open: (from) => {
        // Only the first request asks for a tail or an offset; a reopen resumes at the byte reached.
        const tail = first ? options.tail : undefined;
        if (first && options.offset !== undefined) from = { ...from, offset: options.offset };
        first = false;
        return this.request(
          'GET',
          `${path}${queryString({ follow: true, attempt: from.attempt ?? options.attempt, offset: tail === undefined ? from.offset || undefined : undefined, tail, stream })}`,
          undefined,
          options.signal,
        );
      },
      attemptOver: (attempt) => this.attemptOver(id, attempt ?? options.attempt, options),
      failure: (err) => this.failure(err, options.signal),
      onReconnecting: options.onReconnecting,
      signal: options.signal,
    });
  }

  /**
   * `GET /v1/jobs/:id/output` with `Range`: part of the output as it is now. A range past its
   * end (or any of an empty output) gives no bytes, with the output's size.
   */
  async outputRange(id: string, range: OutputRange, options: OutputReadOptions = {}): Promise<OutputPart> {
    const path = `/v1/jobs/${encodeURIComponent(id)}/output${queryString({ attempt: options.attempt, stream: options.stream })}`;
    const header = 'last' in range ? `bytes=-${range.last}` : `bytes=${range.from}-${range.to ?? ''}`;
    const res = await this.request('GET', path, undefined, options.signal, { range: header }, 416);
    const attempt = Number(res.headers.get('baton-attempt') ?? options.attempt ?? 0);
    // bytes FIRST-LAST/SIZE on a 206, bytes */SIZE on a 416.
    const [, first, size] = /^bytes (?:(\d+)-\d+|\*)\/(\d+)$/.exec(res.headers.get('content-range') ?? '') ?? [];
    if (res.status === 416) return { bytes: new Uint8Array(0), start: Number(size ?? 0), size: Number(size ?? 0), attempt };
    const bytes = new Uint8Array(await res.arrayBuffer());
    // A scheduler that ignored the Range sent the whole output.
    if (res.status === 200) return { bytes, start: 0, size: bytes.byteLength, attempt };
    return { bytes, start: Number(first), size: Number(size), attempt };
  }

  /** `GET /v1/jobs/:id/output/search`: the lines that hold `text`, each with the byte it starts at. */
  searchOutput(id: string, text: string, options: OutputSearchOptions = {}): Promise<OutputSearch> {
    const { attempt, limit, stream } = options;
    return this.json('GET', `/v1/jobs/${encodeURIComponent(id)}/output/search${queryString({ q: text, attempt, limit, stream })}`, undefined, options);
  }

  /**
   * The whole output as a file's contents (`?download=1`): a Blob, which a browser keeps out of
   * the page's memory (on disk when large). Without a token a plain link to `outputUrl(id, true)`
   * does the same with no script at all.
   */
  async outputBlob(id: string, options: OutputReadOptions = {}): Promise<Blob> {
    const res = await this.request(
      'GET',
      `/v1/jobs/${encodeURIComponent(id)}/output${queryString({ attempt: options.attempt, stream: options.stream, download: true })}`,
      undefined,
      options.signal,
    );
    return res.blob();
  }

  /** The address of a job's output (`download`: answered as a file to save; `stream`: only its stdout or stderr). */
  outputUrl(id: string, download = false, attempt?: number, stream?: OutputStream): string {
    return `${this.address}/v1/jobs/${encodeURIComponent(id)}/output${queryString({ attempt, stream, download: download || undefined })}`;
  }

  /** The whole output so far as text (UTF-8). */
  async outputText(id: string, options?: RequestOptions): Promise<string> {
    const decoder = new TextDecoder();
    let text = '';
    for await (const chunk of this.output(id, { signal: options?.signal })) text += decoder.decode(chunk, { stream: true });
    return text + decoder.decode();
  }

  // ---- schedules ----

  /** `POST /v1/schedules`: the job runs at each tick of the cron expression. */
  createSchedule(request: CreateScheduleRequest, options?: RequestOptions): Promise<Schedule> {
    return this.json('POST', '/v1/schedules', request, options);
  }

  /** `GET /v1/schedules`: every schedule, by name, with its next tick and last run. */
  async listSchedules(options?: RequestOptions): Promise<Schedule[]> {
    return (await this.json<{ schedules: Schedule[] }>('GET', '/v1/schedules', undefined, options)).schedules;
  }

  /** `GET /v1/schedules/:name`: with its next five ticks and last twenty runs. */
  getSchedule(name: string, options?: RequestOptions): Promise<ScheduleDetail> {
    return this.json('GET', `/v1/schedules/${encodeURIComponent(name)}`, undefined, options);
  }

  /** `PATCH /v1/schedules/:name`: changes what is given; `{paused: true}` pauses, `{paused: false}` resumes. */
  updateSchedule(name: string, change: UpdateScheduleRequest, options?: RequestOptions): Promise<Schedule> {
    return this.json('PATCH', `/v1/schedules/${encodeURIComponent(name)}`, change, options);
  }

  /** `DELETE /v1/schedules/:name`: its runs stay, as jobs; resolves with the schedule as it was. */
  deleteSchedule(name: string, options?: RequestOptions): Promise<Schedule> {
    return this.json('DELETE', `/v1/schedules/${encodeURIComponent(name)}`, undefined, options);
  }

  /** `POST /v1/schedules/:name/trigger`: a run now, outside the cron. */
  triggerSchedule(name: string, options?: RequestOptions): Promise<Job> {
    return this.json('POST', `/v1/schedules/${encodeURIComponent(name)}/trigger`, undefined, options);
  }

  // ---- API tokens ----

  /** `GET /v1/whoami`: this client's token name and role (`auth` false: the scheduler runs with --no-auth). */
  whoami(options?: RequestOptions): Promise<WhoAmI> {
    return this.json('GET', '/v1/whoami', undefined, options);
  }

  /** `GET /v1/tokens`: names, roles and dates of the live tokens (never a secret). */
  async listTokens(options?: RequestOptions): Promise<ApiToken[]> {
    return (await this.json<{ tokens: ApiToken[] }>('GET', '/v1/tokens', undefined, options)).tokens;
  }

  /** `POST /v1/tokens`: a new token; its secret (`token`) is in this answer only. */
  createToken(name: string, role: TokenRole, options?: RequestOptions): Promise<CreatedApiToken> {
    return this.json('POST', '/v1/tokens', { name, role }, options);
  }

  /** `DELETE /v1/tokens/:name`: revokes the live token with this name. */
  revokeToken(name: string, options?: RequestOptions): Promise<ApiToken> {
    return this.json('DELETE', `/v1/tokens/${encodeURIComponent(name)}`, undefined, options);
  }

  // ---- the original calls ----

  /** `POST /start`: runs `command path` on the worker; resolves with `{job_id}`. */
  start(request: OriginalStartRequest, options?: RequestOptions): Promise<OriginalStartResult> {
    return this.json('POST', '/start', request, options);
  }

  /** `POST /stop`. */
  stop(ref: OriginalJobRef, options?: RequestOptions): Promise<OriginalStopResult> {
    return this.json('POST', '/stop', ref, options);
  }

  /** `POST /query`. */
  query(ref: OriginalJobRef, options?: RequestOptions): Promise<OriginalQueryResult> {
    return this.json('POST', '/query', ref, options);
  }

  /** `POST /stream`: the output from its first byte, live, until the job ends (resumed as `output()` resumes a followed stream). */
  stream(ref: OriginalJobRef, options: StreamOptions = {}): AsyncIterable<Uint8Array> {
    return resumableStream({
      // The first request is the original's body exactly; a resumed one adds where to go on from.
      open: (from) =>
        this.request('POST', '/stream', from.offset === 0 && from.attempt === undefined ? ref : { ...ref, offset: from.offset, attempt: from.attempt }, options.signal),
      attemptOver: (attempt) => this.attemptOver(ref.job_id, attempt, options),
      failure: (err) => this.failure(err, options.signal),
      onReconnecting: options.onReconnecting,
      signal: options.signal,
    });
  }

  // ---- plumbing ----

  private async json<T>(method: string, path: string, body: unknown, options: RequestOptions | undefined, extraHeaders: Record<string, string> = {}): Promise<T> {
    const res = await this.request(method, path, body, options?.signal, extraHeaders);
    return this.parse<T>(res, method, path, options);
  }

  private async parse<T>(res: Response, method: string, path: string, options: RequestOptions | undefined): Promise<T> {
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw this.failure(err, options?.signal);
    }
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new BatonApiError(res.status, `the scheduler answered ${method} ${path} with something that is not JSON: ${text.slice(0, 100)}`, method, path);
    }
  }

  /** Sends the request; resolves with a 2xx response, else throws the typed error. */
  private async request(
    method: string,
    path: string,
    body: unknown,
    signal: AbortSignal | undefined,
    extraHeaders: Record<string, string> = {},
    /** An error status the caller reads itself. */
    allowStatus?: number,
  ): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json', ...extraHeaders };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    for (let tries = 0; ; tries++) {
      let res: Response;
      try {
        res = await this.fetchFn(this.address + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
      } catch (err) {
        throw this.failure(err, signal);
      }
      if (res.ok || res.status === allowStatus) return res;
      const error = await apiError(res, method, path);
      const wait = retryDelayMs(res.status, res.headers.get('retry-after'), error.code, tries, this.retry, Date.now());
      if (wait === undefined) throw error;
      await sleep(wait, signal);
    }
  }

  private failure(err: unknown, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted || isAbortError(err)) return signal?.reason ?? err;
    return new BatonConnectionError(this.address, describeNetworkError(err), { cause: err });
  }

  /** For a followed stream that cannot be reopened: is the attempt it follows (or the job) over? */
  private async attemptOver(jobId: string, attempt: number | undefined, options: RequestOptions): Promise<boolean> {
    const job = await this.getJob(jobId, options);
    return isFinalJobState(job.state) || (attempt !== undefined && job.attempt > attempt);
  }

  /** A response body as chunks, once (a followed output resumes instead: ./resumable-stream.ts). */
  private async *streamBody(method: string, path: string, body: unknown, options: RequestOptions, onOpen?: () => void): AsyncGenerator<Uint8Array, void, undefined> {
    const res = await this.request(method, path, body, options.signal);
    onOpen?.();
    if (!res.body) return;
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield value;
      }
    } catch (err) {
      throw this.failure(err, options.signal);
    } finally {
      // Leaving early (break, abort, error) closes the request; after the end it is a no-op.
      await reader.cancel().catch(() => undefined);
    }
  }
}
