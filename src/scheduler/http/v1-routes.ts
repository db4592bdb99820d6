import {
  DEFAULT_PAGE,
  JobBatchSchema,
  JobDetailSchema,
  JobIdParams,
  JobPageSchema,
  JobSchema,
  ListJobsQuerySchema,
  OUTPUT_HEADERS,
  OutputQuerySchema,
  OutputResponseSchema,
  StopJobSchema,
  SubmitBatchSchema,
  SubmitJobSchema,
  type Job,
  type RetryRequest,
  type SubmitJobRequest,
} from '../../api/jobs.js';
import { WorkerIdParams, WorkerListSchema, WorkerSchema } from '../../api/workers.js';
import { BatonError } from '../../common/errors.js';
import type { JobService, JobSpec } from '../job-service.js';
import { DEFAULT_RETRY, type RetryPolicy } from '../retry-policy.js';
import type { Registry } from '../registry.js';
import type { App } from './app.js';
import { callerName } from './auth.js';
import { sendOutput } from './output.js';
import { parseRange, UnsatisfiableRange } from './range.js';
import { parseCpu, parseIoLimits, parseMemory, parsePids } from '../../worker/sandbox/limits.js';
import type { JobSandboxRequest } from '../job-service.js';
import { jobDetailView, jobView, workerView } from './views.js';
import { idempotencyKey, requestHash } from './idempotency.js';

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * A batch's answer (JobBatchSchema), written job by job into one Buffer, outside the heap: the
 * schema's serialiser would build the whole body as one string by concatenation and copy it
 * again on its way to the socket, garbage that grows with the batch while others are in flight.
 * Every view is a `Job`, with exactly the schema's properties, so JSON.stringify writes what
 * that serialiser would.
 */
function batchBody(payload: { jobs: readonly Job[] }): Buffer {
  const parts = payload.jobs.map((job) => JSON.stringify(job));
  let size = BATCH_OPEN.length + BATCH_CLOSE.length + Math.max(0, parts.length - 1);
  for (const part of parts) size += Buffer.byteLength(part);
  const body = Buffer.allocUnsafe(size);
  let at = body.write(BATCH_OPEN, 0, 'latin1');
  for (const [i, part] of parts.entries()) {
    if (i > 0) at = body.writeUInt8(0x2c, at); // ','
    at += body.write(part, at);
  }
  body.write(BATCH_CLOSE, at, 'latin1');
  return body;
}

/** Fastify sends the Buffer a serialiser returns as it is; its types say a string. */
type BufferSerializer = (payload: unknown) => string;

const BATCH_OPEN = '{"jobs":[';
const BATCH_CLOSE = ']}';

/** The API's `retry` → the policy, defaults filled in. */
function retryFrom(body: RetryRequest | undefined): RetryPolicy {
  return {
    maxAttempts: body?.max_attempts ?? DEFAULT_RETRY.maxAttempts,
    backoffBaseMs: body?.backoff?.base !== undefined ? Math.round(body.backoff.base * 1000) : DEFAULT_RETRY.backoffBaseMs,
    backoffCapMs: body?.backoff?.cap !== undefined ? Math.round(body.backoff.cap * 1000) : DEFAULT_RETRY.backoffCapMs,
    on: body?.on ?? DEFAULT_RETRY.on,
  };
}

/** The API's job fields → what the job service takes. */
export function specFrom(b: SubmitJobRequest, submittedBy: string): JobSpec {
  return {
    workerId: b.worker_id,
    command: b.command,
    path: b.path ?? '',
    args: b.args ?? [],
    env: b.env ?? {},
    cwd: b.cwd ?? '',
    submittedBy,
    labels: b.labels ?? {},
    priority: b.priority ?? 0,
    retry: retryFrom(b.retry),
    sandbox: sandboxFrom(b),
    ...(b.timeout !== undefined && { timeoutMs: Math.max(1, Math.round(b.timeout * 1000)) }),
    ...(b.run_on !== undefined && { runOn: b.run_on }),
    ...(b.after !== undefined && { after: b.after }),
    ...(b.after_condition !== undefined && { afterCondition: b.after_condition }),
    ...(b.concurrency !== undefined && { concurrency: { key: b.concurrency.key, limit: b.concurrency.limit, onLimit: b.concurrency.on_limit ?? 'queue' } }),
    ...(b.name !== undefined && { name: b.name }),
    ...(b.stdin !== undefined && b.stdin !== '' && { stdin: checkedBase64('stdin', b.stdin) }),
  };
}

/** Base64 as Buffer.from would read it back byte for byte: padded, no line breaks or URL alphabet. */
function checkedBase64(field: string, text: string): string {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
    throw new BatonError('BAD_REQUEST', `${field} must be base64 (A-Z, a-z, 0-9, + and /, padded with = to a multiple of 4 characters)`);
  }
  return text;
}

/** The API's `resources`, `network` and `isolate` → what the worker is sent; BAD_REQUEST naming a malformed limit. */
function sandboxFrom(body: {
  resources?: { memory?: string | number; cpu?: number; pids?: number; io?: Record<string, string | number | undefined> };
  network?: string;
  isolate?: boolean;
}): JobSandboxRequest | undefined {
  const r = body.resources;
  if (r === undefined && body.network === undefined && body.isolate === undefined) return undefined;
  const parse = (name: string, fn: () => number): number => {
    try {
      return fn();
    } catch (err) {
      throw new BatonError('BAD_REQUEST', `resources.${name}: ${(err as Error).message}`);
    }
  };
  return {
    resources:
      r === undefined
        ? undefined
        : {
            memoryBytes: r.memory === undefined ? 0 : parse('memory', () => parseMemory(r.memory!)),
            cpu: r.cpu === undefined ? 0 : parse('cpu', () => parseCpu(r.cpu!)),
            pids: r.pids === undefined ? 0 : parse('pids', () => parsePids(r.pids!)),
            ...ioFrom(r.io),
          },
    network: body.network,
    isolate: body.isolate,
  };
}

function drain(registry: Registry, id: string, on: boolean, by: string) {
  const w = registry.setDraining(id, on, by);
  if (!w) throw new BatonError('WORKER_NOT_FOUND', `worker "${id}" not found`);
  return workerView(w);
}

/** `resources.io` → the protocol's fields (0: not asked); BAD_REQUEST naming a malformed one. */
function ioFrom(io: Record<string, string | number | undefined> | undefined): { readBps: number; writeBps: number; readIops: number; writeIops: number } {
  let parsed: ReturnType<typeof parseIoLimits> = {};
  if (io !== undefined) {
    try {
      parsed = parseIoLimits(Object.fromEntries(Object.entries(io).filter(([, v]) => v !== undefined)), 'resources.io');
    } catch (err) {
      throw new BatonError('BAD_REQUEST', (err as Error).message);
    }
  }
  return { readBps: parsed.readBps ?? 0, writeBps: parsed.writeBps ?? 0, readIops: parsed.readIops ?? 0, writeIops: parsed.writeIops ?? 0 };
}

/** A file name for a job's output: the id kept to characters every file system and header takes. */
function downloadName(jobId: string, attempt: number): string {
  return `job-${jobId.replace(/[^A-Za-z0-9._-]/g, '_')}-attempt-${attempt}.log`;
}

export function v1Routes(app: App, jobs: JobService, registry: Registry): void {
  app.get('/v1/workers', { schema: { operationId: 'listWorkers', tags: ['workers'], summary: 'Every worker the scheduler knows', response: { 200: WorkerListSchema } } }, () => ({
    workers: registry.list().map(workerView),
  }));

  app.get(
    '/v1/workers/:id',
    { schema: { operationId: 'getWorker', tags: ['workers'], summary: 'One worker', params: WorkerIdParams, response: { 200: WorkerSchema }, errors: [404] } },
    (req) => {
      const w = registry.get(req.params.id);
      if (!w) throw new BatonError('WORKER_NOT_FOUND', `worker "${req.params.id}" not found`);
      return workerView(w);
    },
  );

  const drainDoc = { tags: ['workers'], params: WorkerIdParams, response: { 200: WorkerSchema }, errors: [404] };
  app.post('/v1/workers/:id/drain', { schema: { ...drainDoc, operationId: 'drainWorker', summary: 'No new placements on the worker; its running jobs go on' } }, (req) =>
    drain(registry, req.params.id, true, callerName(req)),
  );
  app.delete('/v1/workers/:id/drain', { schema: { ...drainDoc, operationId: 'undrainWorker', summary: 'The worker takes jobs again' } }, (req) =>
    drain(registry, req.params.id, false, callerName(req)),
  );

  app.delete(
    '/v1/workers/:id',
    {
      schema: {
        operationId: 'removeWorker',
        tags: ['workers'],
        summary: 'Forget a worker that is down or deregistered; its attempts still unknown end lost now (409 worker_up for one that is up)',
        params: WorkerIdParams,
        response: { 200: WorkerSchema },
        errors: [404, 409],
      },
    },
    async (req) => {
      const removed = await registry.remove(req.params.id, callerName(req));
      if (!removed) throw new BatonError('WORKER_NOT_FOUND', `worker "${req.params.id}" not found`);
      return workerView(removed);
    },
  );

  app.post(
    '/v1/jobs',
    {
      schema: {
        operationId: 'submitJob',
        tags: ['jobs'],
        summary: 'Submit a job: placed by the scheduler, or on worker_id',
        description: 'Answers 201 with the new job; 200 with the job an earlier call with the same Idempotency-Key made.',
        body: SubmitJobSchema,
        response: { 200: JobSchema, 201: JobSchema },
        errors: [404, 409, 429, 503],
      },
    },
    async (req, reply) => {
      const key = idempotencyKey(req.headers['idempotency-key']);
      const spec = specFrom(req.body, callerName(req));
      // The hash is of the body as validated (defaults in), so it names what was asked.
      if (key !== undefined) spec.idempotency = { key, requestHash: requestHash(req.body) };
      const { job, created } = await jobs.submit(spec);
      return reply.code(created ? 201 : 200).send(jobView(job));
    },
  );

  app.post(
    '/v1/jobs/batch',
    {
      schema: {
        operationId: 'submitBatch',
        tags: ['jobs'],
        summary: 'Submit up to 1,000 jobs at once, all or none',
        body: SubmitBatchSchema,
        response: { 201: JobBatchSchema },
        errors: [404, 409, 429, 503],
      },
    },
    async (req, reply) => {
      const by = callerName(req);
      const specs = req.body.jobs.map((b, i) => {
        try {
          return specFrom(b, by);
        } catch (err) {
          if (err instanceof BatonError) throw new BatonError(err.code, `jobs[${i}].${err.message}`);
          throw err;
        }
      });
      const created = await jobs.submitBatch(specs);
      // The object is what the hooks see (the audit line's job ids); the bytes are batchBody's.
      return reply
        .code(201)
        .type(JSON_TYPE)
        .serializer(batchBody as unknown as BufferSerializer)
        .send({ jobs: created.map(jobView) });
    },
  );

  app.get(
    '/v1/jobs',
    { schema: { operationId: 'listJobs', tags: ['jobs'], summary: 'Jobs, newest first, a page at a time', querystring: ListJobsQuerySchema, response: { 200: JobPageSchema } } },
    async (req) => {
      const q = req.query;
      const { jobs: list, nextCursor } = await jobs.list({
        state: q.state,
        workerId: q.worker_id,
        schedule: q.schedule,
        after: q.after,
        name: q.name,
        limit: q.limit ?? DEFAULT_PAGE,
        cursor: q.cursor,
      });
      return { jobs: list.map(jobView), next_cursor: nextCursor };
    },
  );

  app.get(
    '/v1/jobs/:id',
    { schema: { operationId: 'getJob', tags: ['jobs'], summary: 'One job with its attempts', params: JobIdParams, response: { 200: JobDetailSchema }, errors: [404] } },
    async (req) => jobDetailView(await jobs.find(req.params.id)),
  );

  app.post(
    '/v1/jobs/:id/stop',
    {
      schema: {
        operationId: 'stopJob',
        tags: ['jobs'],
        summary: "SIGTERM to the job's process group, SIGKILL after the grace period",
        description: 'The body may be left out.',
        params: JobIdParams,
        body: StopJobSchema,
        response: { 200: JobDetailSchema },
        errors: [404, 409, 502, 503, 504],
      },
      // `curl -X POST` sends no body: the same as `{}`.
      preValidation: async (req) => {
        req.body ??= {};
      },
    },
    async (req) => jobDetailView(await jobs.stop(req.params.id, undefined, Math.round((req.body.grace ?? 0) * 1000), callerName(req))),
  );

  app.get(
    '/v1/jobs/:id/output',
    {
      schema: {
        operationId: 'getJobOutput',
        tags: ['jobs'],
        summary:
          "The job's output (of the live attempt, or of attempt=N; stdout and stderr interleaved, or stream=stdout|stderr) from its first byte, from offset=N or from its last tail=N lines; with follow=true, until it ends; a Range header (one range of bytes, not with offset, tail or follow) answers 206",
        params: JobIdParams,
        querystring: OutputQuerySchema,
        response: OutputResponseSchema,
        errors: [404, 409, 410, 416, 502, 503, 504],
      },
    },
    async (req, reply) => {
      const { follow, attempt, offset, tail, stream, download } = req.query;
      if (offset !== undefined && tail !== undefined) throw new BatonError('BAD_REQUEST', 'offset and tail each say where to start: give one of them');
      const range = parseRange(req.headers.range);
      if (range !== undefined && (offset !== undefined || tail !== undefined || follow === true)) {
        throw new BatonError('BAD_REQUEST', 'Range names the bytes to send as the output is now: give it without offset, tail or follow');
      }
      const answer = await jobs.output(req.params.id, undefined, { follow: follow ?? false, attempt, offset, tail, stream, range }).catch((err: unknown) => {
        if (err instanceof UnsatisfiableRange) void reply.header(OUTPUT_HEADERS.contentRange, `bytes */${err.size}`);
        throw err;
      });
      if (download === true) void reply.header('content-disposition', `attachment; filename="${downloadName(req.params.id, answer.attempt)}"`);
      return sendOutput(req, reply, answer);
    },
  );
}
