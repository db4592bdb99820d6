import { Type, type Static } from 'typebox';
import { ON_LIMIT } from '../scheduler/concurrency.js';
import { AFTER_CONDITIONS } from '../scheduler/dependencies.js';
import { JOB_STATES } from '../scheduler/job-state.js';
import { RETRY_OUTCOMES } from '../scheduler/retry-policy.js';
import { NullableErrorCodeSchema } from './errors.js';
import { Id, MAX_ID, MAX_PATH, Nullable, NullableTime, StringMap, Strict, Time } from './shared.js';

export const JobStateSchema = Type.Enum(JOB_STATES);
export type JobState = Static<typeof JobStateSchema>;

export const JobIdParams = Type.Object({ id: Id });

/** The most a job's `stdin` holds: its base64 text, with the JSON around it, fits the scheduler's default 1 MiB body limit. */
export const MAX_STDIN_BYTES = 512 * 1024;
/** `MAX_STDIN_BYTES` as base64 characters. */
const MAX_STDIN_BASE64 = Math.ceil(MAX_STDIN_BYTES / 3) * 4;

// ---- requests ----

const Seconds = Type.Number({ minimum: 0, maximum: 86_400 });
/** Bytes: a number, or a size with a unit ("512MiB"). */
const Bytes = Type.Union([Type.String({ maxLength: 32 }), Type.Number()]);

/** When a job is tried again: up to `max_attempts` in all, after a backoff, for the listed outcomes. */
export const RetryRequestSchema = Strict({
  max_attempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  backoff: Type.Optional(Strict({ base: Type.Optional(Seconds), cap: Type.Optional(Seconds) }, { description: 'seconds: the first wait, and the most any wait grows to' })),
  on: Type.Optional(Type.Array(Type.Enum(RETRY_OUTCOMES), { uniqueItems: true })),
});
export type RetryRequest = Static<typeof RetryRequestSchema>;

/** At most `limit` jobs of `key` dispatched or running at once, across the fleet (docs/api.md#concurrency-keys). */
export const ConcurrencyRequestSchema = Strict({
  key: Type.String({ minLength: 1, maxLength: MAX_ID }),
  limit: Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'this job starts only while fewer than `limit` jobs of the key are dispatched or running' }),
  on_limit: Type.Optional(
    Type.Enum(ON_LIMIT, {
      description: 'at the limit: queue (default) waits; skip ends the job at once, skipped; cancel_in_progress stops the running jobs of the key and starts after them',
    }),
  ),
});

/** The body of `POST /v1/jobs`, and each item of `POST /v1/jobs/batch`. */
export const SubmitJobSchema = Strict({
  worker_id: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_ID, description: 'only this worker may run the job; absent: the scheduler places it' })),
  labels: Type.Optional(
    Type.Record(Type.String({ minLength: 1, maxLength: MAX_ID }), Type.String({ maxLength: MAX_ID }), { description: 'labels a worker must carry, all of them' }),
  ),
  priority: Type.Optional(Type.Integer({ minimum: -1_000_000, maximum: 1_000_000, description: 'higher starts first among queued jobs; default 0' })),
  retry: Type.Optional(RetryRequestSchema),
  command: Type.String({ minLength: 1, maxLength: MAX_PATH }),
  path: Type.Optional(Type.String({ maxLength: MAX_PATH, description: "a script inside the worker's jobs folder" })),
  args: Type.Optional(Type.Array(Type.String())),
  env: Type.Optional(StringMap),
  cwd: Type.Optional(Type.String({ maxLength: MAX_PATH, description: "a folder inside the worker's jobs folder" })),
  resources: Type.Optional(
    Strict(
      {
        memory: Type.Optional(Bytes),
        cpu: Type.Optional(Type.Number()),
        pids: Type.Optional(Type.Integer()),
        io: Type.Optional(
          Strict(
            { read_bps: Type.Optional(Bytes), write_bps: Type.Optional(Bytes), read_iops: Type.Optional(Type.Integer()), write_iops: Type.Optional(Type.Integer()) },
            { description: 'disk I/O a second: bytes and operations' },
          ),
        ),
      },
      { description: "per-job limits, checked against the worker's maximums by the worker" },
    ),
  ),
  network: Type.Optional(Type.Literal('none')),
  isolate: Type.Optional(Type.Boolean()),
  timeout: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 86_400, description: 'seconds the job may run before it is stopped and ends timed_out' })),
  run_on: Type.Optional(Type.Literal('all', { description: 'one copy on every matching worker, under a parent job' })),
  concurrency: Type.Optional(ConcurrencyRequestSchema),
  after: Type.Optional(
    Type.Array(Type.String({ minLength: 1, maxLength: MAX_ID }), {
      maxItems: 100,
      uniqueItems: true,
      description: 'ids of jobs this one waits for; in a batch, "#0" names the batch\'s first job',
    }),
  ),
  after_condition: Type.Optional(
    Type.Enum(AFTER_CONDITIONS, { description: 'succeeded (default): each must succeed, else this job is skipped; finished: each must end, whatever way' }),
  ),
  name: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_ID, description: 'a display name; need not be unique' })),
  stdin: Type.Optional(
    Type.String({
      maxLength: MAX_STDIN_BASE64,
      contentEncoding: 'base64',
      description: `base64 bytes (at most ${MAX_STDIN_BYTES / 1024} KiB) the process reads on its standard input, then end of file; every attempt reads them. Absent: stdin is empty`,
    }),
  ),
});
export type SubmitJobRequest = Static<typeof SubmitJobSchema>;

export const MAX_BATCH = 1_000;
export const SubmitBatchSchema = Strict({ jobs: Type.Array(SubmitJobSchema, { minItems: 1, maxItems: MAX_BATCH }) });
export type SubmitBatchRequest = Static<typeof SubmitBatchSchema>;

/** An hour, in seconds: a longer grace is a mistake, and an unbounded one overflows the gRPC deadline. */
export const MAX_GRACE_S = 3_600;
/** `POST /v1/jobs/:id/stop`; no body at all is the same as `{}`. Seconds, as every duration of the API. */
export const StopJobSchema = Strict({
  grace: Type.Optional(
    Type.Number({ minimum: 0, maximum: MAX_GRACE_S, description: "seconds between SIGTERM and SIGKILL (0.5: half a second); default: the worker's --stop-grace" }),
  ),
});
export type StopJobRequest = Static<typeof StopJobSchema>;

export const MAX_PAGE = 500;
export const DEFAULT_PAGE = 50;
/** Query parameters of `GET /v1/jobs`. */
export const ListJobsQuerySchema = Strict({
  state: Type.Optional(JobStateSchema),
  worker_id: Type.Optional(Id),
  schedule: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_ID, description: "only this schedule's runs" })),
  after: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_ID, description: 'only the jobs whose `after` names this job: those that wait, or waited, for it' })),
  name: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_ID, description: 'only jobs of this name' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE, default: DEFAULT_PAGE })),
  cursor: Type.Optional(Type.String({ minLength: 1 })),
});
export type ListJobsFilter = Static<typeof ListJobsQuerySchema>;

/** A reader that lost its stream asks again from the byte it had reached (the response's `Baton-Attempt` header names the attempt to pin). */
export const OutputOffset = Type.Integer({
  minimum: 0,
  maximum: Number.MAX_SAFE_INTEGER,
  description: 'start at this byte of the output instead of its first (to resume a stream that broke off)',
});

/** One of the job's streams alone; offsets and tails then count that stream's bytes and lines. */
export const OutputStreamSchema = Type.Union([Type.Literal('stdout'), Type.Literal('stderr')], {
  description:
    "only the job's stdout or only its stderr (offset and tail then count that stream's bytes); default both, interleaved as the worker read them. 409 output_not_split for an attempt run by an earlier release's job supervisor",
});

export type OutputStream = Static<typeof OutputStreamSchema>;

export const OutputQuerySchema = Strict({
  follow: Type.Optional(Type.Boolean({ description: 'stream until the job (or the attempt asked for) ends' })),
  attempt: Type.Optional(Type.Integer({ minimum: 1, description: "this attempt's output (1 for the first); default: the attempt now live" })),
  offset: Type.Optional(OutputOffset),
  tail: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'start at the last this many lines (not with offset)' })),
  stream: Type.Optional(OutputStreamSchema),
  download: Type.Optional(Type.Boolean({ description: 'answer with Content-Disposition: attachment (a browser saves it to a file as it arrives)' })),
});

export const MAX_SEARCH_MATCHES = 1000;
export const DEFAULT_SEARCH_MATCHES = 100;
export const OutputSearchQuerySchema = Strict({
  q: Type.String({ minLength: 1, maxLength: 200, description: 'the text to find, as written (case-sensitive)' }),
  attempt: Type.Optional(Type.Integer({ minimum: 1, description: "this attempt's output; default: the attempt now live" })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_SEARCH_MATCHES, default: DEFAULT_SEARCH_MATCHES, description: 'stop after this many matching lines' })),
  stream: Type.Optional(OutputStreamSchema),
});

export const OutputSearchSchema = Type.Object({
  attempt: Type.Integer({ description: 'the attempt searched' }),
  matches: Type.Array(
    Type.Object({
      offset: Type.Integer({ description: 'the byte the line starts at: read around it with a Range' }),
      line: Type.Integer({ description: 'its number, from 1' }),
      text: Type.String({ description: 'the line, its first 500 bytes' }),
    }),
  ),
  more: Type.Boolean({ description: 'more lines than limit match: later lines were not given' }),
  bytes_searched: Type.Integer(),
});
export type OutputSearch = Static<typeof OutputSearchSchema>;

/**
 * The headers of an output answer, by their wire names: the server sets them by these names and
 * the OpenAPI document declares them from here. Content-Range only on a 206.
 */
export const OUTPUT_HEADERS = {
  attempt: 'baton-attempt',
  offset: 'baton-offset',
  acceptRanges: 'accept-ranges',
  contentRange: 'content-range',
} as const;

const outputHeaders = {
  [OUTPUT_HEADERS.attempt]: Type.Integer({ minimum: 1, description: 'the attempt the bytes are of: pin it (attempt=N) when resuming' }),
  [OUTPUT_HEADERS.offset]: Type.Integer({ minimum: 0, description: "the byte of the attempt's output the body starts at (resume at this plus the bytes read)" }),
  [OUTPUT_HEADERS.acceptRanges]: Type.Literal('bytes', { description: 'a Range header of bytes is honoured' }),
};

/** Output is sent as written: bytes, not JSON. */
export const OutputResponseSchema = {
  200: {
    description: "the job's output (stdout and stderr as written) from its first byte, from offset or from its last tail lines",
    headers: outputHeaders,
    content: { 'text/plain': { schema: Type.String() } },
  },
  206: {
    description: 'the bytes a Range header asked for (one range: bytes=N-, bytes=N-M or bytes=-N), as the output is now',
    headers: {
      ...outputHeaders,
      [OUTPUT_HEADERS.contentRange]: Type.String({ pattern: '^bytes \\d+-\\d+/\\d+$', description: "bytes FIRST-LAST/SIZE: SIZE is the output's size when answered" }),
    },
    content: { 'text/plain': { schema: Type.String() } },
  },
};

export const MAX_WAIT_S = 300;
export const DEFAULT_WAIT_S = 30;
export const WaitQuerySchema = Strict({
  timeout: Type.Optional(Type.Number({ minimum: 0, maximum: MAX_WAIT_S, default: DEFAULT_WAIT_S, description: 'seconds to wait for the final state' })),
});

// ---- responses ----

export const RetryPolicySchema = Type.Object({
  max_attempts: Type.Integer(),
  backoff: Type.Object({ base: Type.Number(), cap: Type.Number() }, { description: 'seconds' }),
  on: Type.Array(Type.Enum(RETRY_OUTCOMES)),
});
export type RetryPolicy = Static<typeof RetryPolicySchema>;

const NullableString = Nullable(Type.String());

/** A job as `POST /v1/jobs` and `GET /v1/jobs` answer it. Key order is the answer's. */
export const JobSchema = Type.Object(
  {
    id: Type.String(),
    state: JobStateSchema,
    worker_id: Nullable(Type.String({ description: "the current attempt's worker; null while no worker has the job" })),
    reason: Nullable(Type.String({ description: 'why a queued job waits ("no worker has labels gpu=true"), or why a skipped one never ran' })),
    labels: StringMap,
    priority: Type.Integer(),
    pinned: Type.Boolean({ description: 'submitted with a worker_id: only that worker may run it' }),
    attempt: Type.Integer({ description: 'the attempt now live (1 for the first)' }),
    next_attempt_at: NullableTime,
    retry: RetryPolicySchema,
    command: Type.String(),
    path: Type.String({ description: 'the script inside the worker\'s jobs folder ("" when none)' }),
    args: Type.Array(Type.String()),
    env: StringMap,
    cwd: Type.String(),
    created_at: Time,
    updated_at: Time,
    finished_at: NullableTime,
    exit_code: Nullable(Type.Integer()),
    signal: Nullable(Type.String({ description: '"SIGKILL", … when a signal ended the job' })),
    error: NullableString,
    error_code: NullableErrorCodeSchema,
    output_truncated: Type.Boolean(),
    timeout: Nullable(Type.Number({ description: 'seconds, or null for none' })),
    parent_id: Nullable(Type.String({ description: 'set on each copy of a run_on "all" job' })),
    children: Type.Array(Type.String(), { description: 'the copies of a run_on "all" job' }),
    submitted_by: Nullable(Type.String({ description: "the API token's name, when API tokens are on" })),
    stopped_by: NullableString,
    schedule: Nullable(Type.String({ description: 'the schedule that made the job' })),
    scheduled_for: Nullable(Type.String({ format: 'date-time', description: 'the tick of the schedule the job ran for (null for a run triggered by hand)' })),
    concurrency: Nullable(Type.Object({ key: Type.String(), limit: Type.Integer(), on_limit: Type.Enum(ON_LIMIT) })),
    after: Type.Array(Type.String(), { description: 'ids of the jobs this one waits for' }),
    after_condition: Type.Enum(AFTER_CONDITIONS),
    name: Nullable(Type.String({ description: 'the display name it was submitted with' })),
    stdin_bytes: Type.Integer({ description: 'how many bytes of stdin it was submitted with (0: none)' }),
  },
  { description: 'the job' },
);
export type Job = Static<typeof JobSchema>;

export const JobAttemptSchema = Type.Object({
  number: Type.Integer(),
  worker_id: NullableString,
  state: JobStateSchema,
  exit_code: Nullable(Type.Integer()),
  signal: NullableString,
  error: NullableString,
  created_at: Time,
  started_at: NullableTime,
  finished_at: NullableTime,
});
export type JobAttempt = Static<typeof JobAttemptSchema>;

/** `GET /v1/jobs/:id`, `POST /v1/jobs/:id/stop`, `GET /v1/jobs/:id/wait`: the job with its attempts. */
export const JobDetailSchema = Type.Object({ ...JobSchema.properties, attempts: Type.Array(JobAttemptSchema) }, { description: 'the job with its attempts' });
export type JobDetail = Static<typeof JobDetailSchema>;

/** `GET /v1/jobs`: newest first; `next_cursor` is null on the last page. */
export const JobPageSchema = Type.Object({ jobs: Type.Array(JobSchema), next_cursor: NullableString }, { description: 'a page of jobs, newest first' });
export type JobPage = Static<typeof JobPageSchema>;

export const JobBatchSchema = Type.Object({ jobs: Type.Array(JobSchema) }, { description: 'the new jobs, in the order asked' });
export type JobBatch = Static<typeof JobBatchSchema>;
