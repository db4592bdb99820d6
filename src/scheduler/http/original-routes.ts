import { Type } from 'typebox';
import { JobRefSchema, QueryResultSchema, StartRequestSchema, StartResultSchema, StopResultSchema, StreamRequestSchema } from '../../api/original.js';
import type { JobService } from '../job-service.js';
import type { App } from './app.js';
import { callerName } from './auth.js';
import { sendOutput } from './output.js';
import { queryView } from './views.js';

const tags = ['original'];

/** The four calls of the original system; success bodies are kept byte for byte. */
export function originalRoutes(app: App, jobs: JobService): void {
  app.post(
    '/start',
    {
      schema: {
        operationId: 'originalStart',
        tags,
        summary: 'Run `command path` on the worker',
        body: StartRequestSchema,
        response: { 201: StartResultSchema },
        errors: [404, 409, 429, 502, 503, 504],
      },
    },
    async (req, reply) => {
      const { worker_id, command, path } = req.body;
      const job = await jobs.start({ workerId: worker_id, command, path, args: [], env: {}, cwd: '', submittedBy: callerName(req) });
      return reply.code(201).send({ job_id: job.id });
    },
  );

  app.post(
    '/stop',
    {
      schema: {
        operationId: 'originalStop',
        tags,
        summary: "Stop the job's process group",
        body: JobRefSchema,
        response: { 200: StopResultSchema },
        errors: [404, 409, 502, 503, 504],
      },
    },
    async (req) => {
      await jobs.stop(req.body.job_id, req.body.worker_id, 0, callerName(req));
      return { success: true as const };
    },
  );

  app.post(
    '/query',
    { schema: { operationId: 'originalQuery', tags, summary: "The job's state", body: JobRefSchema, response: { 200: QueryResultSchema }, errors: [404, 502, 503, 504] } },
    async (req) => queryView(await jobs.query(req.body.job_id, req.body.worker_id)),
  );

  app.post(
    '/stream',
    {
      schema: {
        operationId: 'originalStream',
        tags,
        summary: "The job's output from its first byte (or from offset), live, until the job ends",
        body: StreamRequestSchema,
        response: { 200: { description: 'the output as written', content: { 'text/plain': { schema: Type.String() } } } },
        errors: [404, 409, 502, 503, 504],
      },
    },
    async (req, reply) =>
      sendOutput(req, reply, await jobs.output(req.body.job_id, req.body.worker_id, { follow: true, attempt: req.body.attempt, offset: req.body.offset, stream: req.body.stream })),
  );
}
