import { Type } from 'typebox';
import { MAX_ID, Strict } from './shared.js';

export const EVENT_TYPES = ['job', 'worker', 'schedule'] as const;

/** `GET /v1/events`. */
export const EventsQuerySchema = Strict({
  job_id: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_ID, description: "only this job's events" })),
  types: Type.Optional(Type.String({ maxLength: 100, description: 'a comma-separated list of job, worker, schedule' })),
  last_event_id: Type.Optional(Type.String({ maxLength: 20, description: 'resume after this event id (as the Last-Event-ID header)' })),
});
