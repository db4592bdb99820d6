import { JobSchema } from '../../api/jobs.js';
import { CreateScheduleSchema, ScheduleDetailSchema, ScheduleListSchema, ScheduleNameParams, ScheduleSchema, UpdateScheduleSchema } from '../../api/schedules.js';
import type { ScheduleService } from '../schedules/service.js';
import type { App } from './app.js';
import { callerName } from './auth.js';
import { jobView } from './views.js';

/** `/v1/schedules`: cron schedules whose runs are ordinary jobs. */
export function scheduleRoutes(app: App, schedules: ScheduleService): void {
  const tags = ['schedules'];
  app.post(
    '/v1/schedules',
    {
      schema: {
        operationId: 'createSchedule',
        tags,
        summary: 'Create a schedule: the job runs at each tick of the cron expression',
        body: CreateScheduleSchema,
        response: { 201: ScheduleSchema },
        errors: [409],
      },
    },
    async (req, reply) => reply.code(201).send(await schedules.create(req.body, callerName(req))),
  );

  app.get(
    '/v1/schedules',
    { schema: { operationId: 'listSchedules', tags, summary: 'Every schedule, with its next tick and last run', response: { 200: ScheduleListSchema } } },
    async () => ({
      schedules: await schedules.list(),
    }),
  );

  const named = { tags, params: ScheduleNameParams, errors: [404] };
  app.get(
    '/v1/schedules/:name',
    { schema: { ...named, operationId: 'getSchedule', summary: 'One schedule, with its next five ticks and last twenty runs', response: { 200: ScheduleDetailSchema } } },
    async (req) => schedules.detail(req.params.name),
  );

  app.patch(
    '/v1/schedules/:name',
    {
      schema: {
        ...named,
        operationId: 'updateSchedule',
        summary: 'Change a schedule; {"paused": true} pauses it, {"paused": false} resumes it',
        body: UpdateScheduleSchema,
        response: { 200: ScheduleSchema },
      },
    },
    async (req) => schedules.update(req.params.name, req.body, callerName(req)),
  );

  app.delete(
    '/v1/schedules/:name',
    {
      schema: { ...named, operationId: 'deleteSchedule', summary: 'Delete a schedule; its runs stay, as jobs. Answers the schedule as it was', response: { 200: ScheduleSchema } },
    },
    async (req) => schedules.delete(req.params.name),
  );

  app.post(
    '/v1/schedules/:name/trigger',
    {
      schema: {
        ...named,
        operationId: 'triggerSchedule',
        summary: "Run the schedule's job now, outside the cron (scheduled_for null)",
        response: { 201: JobSchema },
        errors: [404, 409, 429, 503],
      },
    },
    async (req, reply) => reply.code(201).send(jobView(await schedules.trigger(req.params.name))),
  );
}
