import type { FastifySchemaValidationError } from 'fastify/types/schema.js';
import { Type, type Static } from 'typebox';
import { BatonError } from '../../common/errors.js';
import type { JobService, JobSpec } from '../job-service.js';
import { JOB_STATES } from '../job-state.js';
import { DEFAULT_RETRY, RETRY_OUTCOMES, type RetryOutcome, type RetryPolicy } from '../retry-policy.js';
import type { Registry } from '../registry.js';
import type { App } from './app.js';
import { callerName } from './auth.js';
import { MAX_ID, MAX_PATH, sendOutput } from './output.js';
import { parseCpu, parseIoLimits, parseMemory, parsePids } from '../../worker/sandbox/limits.js';
import type { JobSandboxRequest } from '../job-service.js';
import { jobDetailView, jobView, workerView } from './views.js';
import { idempotencyKey, requestHash } from './idempotency.js';

interface FastifyValidationError extends Error {
  validation: FastifySchemaValidationError[];
}

const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: MAX_ID }) });

const Seconds = Type.Number({ minimum: 0, maximum: 86_400 });

const RetryBody = Type.Object(
  {
    max_attempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    backoff: Type.Optional(Type.Object({ base: Type.Optional(Seconds), cap: Type.Optional(Seconds) }, { additionalProperties: false })),
    on: Type.Optional(Type.Array(Type.Enum(RETRY_OUTCOMES), { uniqueItems: true })),
  },
  { additionalProperties: false },
);

/** The API's `retry` → the policy, defaults filled in. */
function retryFrom(body: { max_attempts?: number; backoff?: { base?: number; cap?: number }; on?: RetryOutcome[] } | undefined): RetryPolicy {
  return {
    maxAttempts: body?.max_attempts ?? DEFAULT_RETRY.maxAttempts,
    backoffBaseMs: body?.backoff?.base !== undefined ? Math.round(body.backoff.base * 1000) : DEFAULT_RETRY.backoffBaseMs,
    backoffCapMs: body?.backoff?.cap !== undefined ? Math.round(body.backoff.cap * 1000) : DEFAULT_RETRY.backoffCapMs,
    on: body?.on ?? DEFAULT_RETRY.on,
  };
}

const NewJobBody = Type.Object({
  // Absent: placement chooses a worker; present: only that worker may run the job.
  worker_id: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_ID })),
  labels: Type.Optional(Type.Record(Type.String({ minLength: 1, maxLength: MAX_ID }), Type.String({ maxLength: MAX_ID }))),
  priority: Type.Optional(Type.Integer({ minimum: -1_000_000, maximum: 1_000_000 })),
  retry: Type.Optional(RetryBody),
  command: Type.String({ minLength: 1, maxLength: MAX_PATH }),
  path: Type.Optional(Type.String({ maxLength: MAX_PATH })),
  args: Type.Optional(Type.Array(Type.String())),
  env: Type.Optional(Type.Record(Type.String(), Type.String())),
  cwd: Type.Optional(Type.String({ maxLength: MAX_PATH })),
  // Per-job limits, checked against the worker's maximums by the worker.
  resources: Type.Optional(
    Type.Object(
      {
        memory: Type.Optional(Type.Union([Type.String({ maxLength: 32 }), Type.Number()])),
        cpu: Type.Optional(Type.Number()),
        pids: Type.Optional(Type.Integer()),
        // Disk I/O a second: bytes ("10MiB" or a number) and operations.
        io: Type.Optional(
          Type.Object(
            {
              read_bps: Type.Optional(Type.Union([Type.String({ maxLength: 32 }), Type.Number()])),
              write_bps: Type.Optional(Type.Union([Type.String({ maxLength: 32 }), Type.Number()])),
              read_iops: Type.Optional(Type.Integer()),
              write_iops: Type.Optional(Type.Integer()),
            },
            { additionalProperties: false },
          ),
        ),
      },
      { additionalProperties: false },
    ),
  ),
  network: Type.Optional(Type.Literal('none')),
  isolate: Type.Optional(Type.Boolean()),
  // Seconds of wall-clock time; the worker stops the job's process group when they pass (timed_out).
  timeout: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 86_400 })),
  // One copy on every matching worker, under a parent job.
  run_on: Type.Optional(Type.Literal('all')),
});

type NewJobFields = Static<typeof NewJobBody>;

const MAX_BATCH = 1_000;
const BatchBody = Type.Object({ jobs: Type.Array(NewJobBody, { minItems: 1, maxItems: MAX_BATCH }) });

/** The API's job fields → what the job service takes. */
function specFrom(b: NewJobFields, submittedBy: string): JobSpec {
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
  };
}

/**
 * A schema error in a batch, named the way a person reads it: `jobs[3].retry.max_attempts
 * must be <= 100`, `jobs[0].command is required`.
 */
function batchError(err: FastifyValidationError): string {
  const first = err.validation[0];
  if (!first) return err.message;
  const parts = first.instancePath.split('/').filter(Boolean);
  const missing = first.keyword === 'required' ? (first.params as { missingProperty?: string }).missingProperty : undefined;
  if (missing !== undefined) parts.push(missing);
  const name = parts.reduce((acc, p) => (/^[0-9]+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '') || 'body';
  return missing !== undefined ? `${name} is required` : `${name} ${first.message ?? 'is not valid'}`;
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

const ListQuery = Type.Object({
  state: Type.Optional(Type.Enum(JOB_STATES)),
  worker_id: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_ID })),
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
  cursor: Type.Optional(Type.String({ minLength: 1 })),
});

// The body is optional (`curl -X POST` sends none), so it is checked here rather than by a schema.
/** An hour: a longer grace is a mistake, and an unbounded one overflows the gRPC deadline. */
const MAX_GRACE_MS = 3_600_000;

function graceFrom(body: unknown): number {
  if (body === undefined || body === null) return 0;
  const grace = (body as { grace_ms?: unknown }).grace_ms;
  if (grace === undefined) return 0;
  if (typeof grace !== 'number' || !Number.isInteger(grace) || grace < 0 || grace > MAX_GRACE_MS) {
    throw new BatonError('BAD_REQUEST', `grace_ms must be a whole number of milliseconds from 0 to ${MAX_GRACE_MS}`);
  }
  return grace;
}

export function v1Routes(app: App, jobs: JobService, registry: Registry): void {
  app.get('/v1/workers', () => ({ workers: registry.list().map(workerView) }));

  app.get('/v1/workers/:id', { schema: { params: IdParams } }, (req) => {
    const w = registry.get(req.params.id);
    if (!w) throw new BatonError('WORKER_NOT_FOUND', `worker "${req.params.id}" not found`);
    return workerView(w);
  });

  app.post('/v1/workers/:id/drain', { schema: { params: IdParams } }, (req) => drain(registry, req.params.id, true, callerName(req)));
  app.delete('/v1/workers/:id/drain', { schema: { params: IdParams } }, (req) => drain(registry, req.params.id, false, callerName(req)));

  app.post('/v1/jobs', { schema: { body: NewJobBody } }, async (req, reply) => {
    const key = idempotencyKey(req.headers['idempotency-key']);
    const spec = specFrom(req.body, callerName(req));
    // The hash is of the body as validated (defaults in, unknown keys out), so it names what was asked.
    if (key !== undefined) spec.idempotency = { key, requestHash: requestHash(req.body) };
    const { job, created } = await jobs.submit(spec);
    return reply.code(created ? 201 : 200).send(jobView(job));
  });

  app.post('/v1/jobs/batch', { schema: { body: BatchBody }, attachValidation: true }, async (req, reply) => {
    if (req.validationError) throw new BatonError('BAD_REQUEST', batchError(req.validationError as FastifyValidationError));
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
    return reply.code(201).send({ jobs: created.map(jobView) });
  });

  app.get('/v1/jobs', { schema: { querystring: ListQuery } }, async (req) => {
    const q = req.query;
    // The schema's coercion lets "1e400" through as Infinity; the store needs a real number.
    if (!Number.isSafeInteger(q.limit) || q.limit < 1 || q.limit > 500) throw new BatonError('BAD_REQUEST', 'querystring/limit must be a whole number from 1 to 500');
    const { jobs: list, nextCursor } = await jobs.list({ state: q.state, workerId: q.worker_id, limit: q.limit, cursor: q.cursor });
    return { jobs: list.map(jobView), next_cursor: nextCursor };
  });

  app.get('/v1/jobs/:id', { schema: { params: IdParams } }, async (req) => jobDetailView(await jobs.find(req.params.id)));

  app.post('/v1/jobs/:id/stop', { schema: { params: IdParams } }, async (req) => jobDetailView(await jobs.stop(req.params.id, undefined, graceFrom(req.body), callerName(req))));

  app.get('/v1/jobs/:id/output', { schema: { params: IdParams, querystring: Type.Object({ follow: Type.Optional(Type.Boolean()) }) } }, async (req, reply) =>
    sendOutput(req, reply, await jobs.output(req.params.id, undefined, req.query.follow ?? false)),
  );
}
