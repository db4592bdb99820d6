import { Type, type Static } from 'typebox';
import { Id, Nullable, StringMap, Time } from './shared.js';

export const WORKER_STATES = ['up', 'down', 'deregistered'] as const;

export const WorkerIdParams = Type.Object({ id: Id });

/** `GET /v1/workers` (each entry), `GET /v1/workers/:id`, drain and undrain; `DELETE /v1/workers/:id` answers the worker as it was. */
export const WorkerSchema = Type.Object(
  {
    id: Type.String(),
    address: Type.String(),
    labels: StringMap,
    capacity: Type.Integer(),
    running: Type.Integer({ description: "jobs running, as the worker's last heartbeat said" }),
    state: Type.Enum(WORKER_STATES),
    last_heartbeat: Time,
    registered_at: Time,
    version: Type.String(),
    draining: Type.Boolean({ description: "no new placements here (an admin's drain, or the worker shutting down)" }),
    unreachable: Nullable(Type.String({ description: 'why the scheduler cannot connect to this worker (no job is placed on it meanwhile); null when it can' })),
  },
  { description: 'the worker' },
);
export type Worker = Static<typeof WorkerSchema>;
export type WorkerState = Worker['state'];

export const WorkerListSchema = Type.Object({ workers: Type.Array(WorkerSchema) }, { description: 'every worker the scheduler knows' });
export type WorkerList = Static<typeof WorkerListSchema>;
