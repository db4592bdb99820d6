import { Type } from 'typebox';
import type { JobService } from '../job-service.js';
import type { App } from './app.js';
import { callerName } from './auth.js';
import { MAX_ID, MAX_PATH, sendOutput } from './output.js';
import { queryView } from './views.js';

const Id = Type.String({ minLength: 1, maxLength: MAX_ID });
const JobRef = Type.Object({ worker_id: Id, job_id: Id });

/** The four calls of the original system; success bodies are kept byte for byte. */
export function originalRoutes(app: App, jobs: JobService): void {
  app.post(
    '/start',
    { schema: { body: Type.Object({ worker_id: Id, command: Type.String({ minLength: 1, maxLength: MAX_PATH }), path: Type.String({ maxLength: MAX_PATH }) }) } },
    async (req, reply) => {
      const { worker_id, command, path } = req.body;
      const job = await jobs.start({ workerId: worker_id, command, path, args: [], env: {}, cwd: '', submittedBy: callerName(req) });
      return reply.code(201).send({ job_id: job.id });
    },
  );

  app.post('/stop', { schema: { body: JobRef } }, async (req) => {
    await jobs.stop(req.body.job_id, req.body.worker_id, 0, callerName(req));
    return { success: true };
  });

  app.post('/query', { schema: { body: JobRef } }, async (req) => queryView(await jobs.query(req.body.job_id, req.body.worker_id)));

  app.post('/stream', { schema: { body: JobRef } }, async (req, reply) => sendOutput(req, reply, await jobs.output(req.body.job_id, req.body.worker_id, true)));
}
