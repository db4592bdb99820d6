import { Type, type Static } from 'typebox';
import { Id, MAX_PATH, Nullable, Strict } from './shared.js';
import { JobStateSchema, OutputOffset, OutputStreamSchema } from './jobs.js';

/** The four calls of the original system. Their success bodies are kept byte for byte. */

export const StartRequestSchema = Strict({ worker_id: Id, command: Type.String({ minLength: 1, maxLength: MAX_PATH }), path: Type.String({ maxLength: MAX_PATH }) });
export type OriginalStartRequest = Static<typeof StartRequestSchema>;

export const JobRefSchema = Strict({ worker_id: Id, job_id: Id });
export type OriginalJobRef = Static<typeof JobRefSchema>;

/** `/stream`'s body: the reference, and where a reader whose stream broke off resumes (Baton's additions). */
export const StreamRequestSchema = Strict({
  worker_id: Id,
  job_id: Id,
  offset: Type.Optional(OutputOffset),
  attempt: Type.Optional(Type.Integer({ minimum: 1, description: "this attempt's output; default: the attempt now live" })),
  stream: Type.Optional(OutputStreamSchema),
});
export type OriginalStreamRequest = Static<typeof StreamRequestSchema>;

export const StartResultSchema = Type.Object({ job_id: Type.String() }, { description: 'the job started' });
export type OriginalStartResult = Static<typeof StartResultSchema>;

export const StopResultSchema = Type.Object({ success: Type.Literal(true) }, { description: 'the job was told to stop' });
export type OriginalStopResult = Static<typeof StopResultSchema>;

/** The original's three fields first, in their order, then Baton's. */
export const QueryResultSchema = Type.Object(
  {
    done: Type.Boolean(),
    error: Type.Boolean({ description: 'done and not succeeded' }),
    error_text: Type.String(),
    state: JobStateSchema,
    exit_code: Nullable(Type.Integer()),
    signal: Nullable(Type.String()),
  },
  { description: "the job's state" },
);
export type OriginalQueryResult = Static<typeof QueryResultSchema>;
