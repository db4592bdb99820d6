import { Type, type Static } from 'typebox';
import { OVERLAP_POLICIES } from '../scheduler/schedules/overlap.js';
import { JobSchema, JobStateSchema, SubmitJobSchema } from './jobs.js';
import { Nullable, NullableTime, Strict, Time } from './shared.js';

export const MAX_SCHEDULE_NAME = 128;
/** A name is a path segment and a CLI argument: letters, digits, `.`, `_`, `-`. */
const ScheduleName = Type.String({ minLength: 1, maxLength: MAX_SCHEDULE_NAME, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' });
export const ScheduleNameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: MAX_SCHEDULE_NAME }) });

export const OverlapSchema = Type.Enum(OVERLAP_POLICIES, {
  description: 'when the previous run is still going: skip the tick (default), allow both, buffer_one (run once when it ends), cancel_previous',
});

const Cron = Type.String({
  minLength: 1,
  maxLength: 256,
  description: 'five fields (minute hour day month weekday), or six with seconds first; @hourly, @daily, @weekly, @monthly, @yearly; @every 30s',
});
const Timezone = Type.String({ minLength: 1, maxLength: 64, description: 'an IANA time zone name; default UTC' });
const CatchupWindow = Type.Union([Type.Number({ minimum: 0, maximum: 604_800 }), Type.String({ maxLength: 32 })], {
  description: 'how late a missed tick may still run: seconds, or a duration ("5m"); default 60 s. Older misses are recorded, not run',
});

// ---- requests ----

/** `POST /v1/schedules`. */
export const CreateScheduleSchema = Strict({
  name: ScheduleName,
  cron: Cron,
  timezone: Type.Optional(Timezone),
  job: SubmitJobSchema,
  overlap: Type.Optional(OverlapSchema),
  catchup_window: Type.Optional(CatchupWindow),
  paused: Type.Optional(Type.Boolean()),
});
export type CreateScheduleRequest = Static<typeof CreateScheduleSchema>;

/** `PATCH /v1/schedules/:name`: the fields given change; `paused` pauses or resumes. */
export const UpdateScheduleSchema = Strict({
  cron: Type.Optional(Cron),
  timezone: Type.Optional(Timezone),
  job: Type.Optional(SubmitJobSchema),
  overlap: Type.Optional(OverlapSchema),
  catchup_window: Type.Optional(CatchupWindow),
  paused: Type.Optional(Type.Boolean()),
});
export type UpdateScheduleRequest = Static<typeof UpdateScheduleSchema>;

// ---- responses ----

export const ScheduleRunSchema = Type.Object({
  job_id: Type.String(),
  state: JobStateSchema,
  scheduled_for: NullableTime,
  created_at: Time,
});

/** A schedule as `GET /v1/schedules` lists it. Key order is the answer's. */
export const ScheduleSchema = Type.Object(
  {
    name: Type.String(),
    cron: Type.String(),
    timezone: Type.String(),
    overlap: OverlapSchema,
    catchup_window: Type.Number({ description: 'seconds' }),
    paused: Type.Boolean(),
    job: SubmitJobSchema,
    next_run_at: Nullable(Type.String({ format: 'date-time', description: 'the next tick; null when paused' })),
    last_run: Nullable(ScheduleRunSchema),
    buffered_for: Nullable(Type.String({ format: 'date-time', description: 'buffer_one: the tick waiting for the previous run to end' })),
    missed: Type.Integer({ description: 'ticks recorded missed (older than the catch-up window when a scheduler could fire them)' }),
    last_missed_at: NullableTime,
    created_by: Type.String(),
    created_at: Time,
    updated_at: Time,
  },
  { description: 'the schedule' },
);
export type Schedule = Static<typeof ScheduleSchema>;

/** `GET /v1/schedules/:name`: with its next five ticks and last twenty runs. */
export const ScheduleDetailSchema = Type.Object(
  {
    ...ScheduleSchema.properties,
    next_runs: Type.Array(Time, { description: 'the next five ticks' }),
    runs: Type.Array(JobSchema, { description: 'the last 20 runs, newest first' }),
  },
  { description: 'the schedule with its next ticks and last runs' },
);
export type ScheduleDetail = Static<typeof ScheduleDetailSchema>;

export const ScheduleListSchema = Type.Object({ schedules: Type.Array(ScheduleSchema) }, { description: 'every schedule, by name' });
export type ScheduleList = Static<typeof ScheduleListSchema>;
