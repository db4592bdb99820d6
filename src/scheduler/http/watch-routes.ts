import { Type } from 'typebox';
import { EVENT_TYPES, EventsQuerySchema } from '../../api/events.js';
import { DEFAULT_WAIT_S, JobDetailSchema, JobIdParams, WaitQuerySchema } from '../../api/jobs.js';
import { BatonError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import type { EventLog } from '../event-log.js';
import type { JobService } from '../job-service.js';
import type { EventFilter, EventRecord } from '../store/event-store.js';
import type { App } from './app.js';
import { openSse } from './sse.js';
import { jobDetailView } from './views.js';

const PING_MS = 15_000;
/** Events read from the store per query while replaying. */
const REPLAY_PAGE = 1_000;
/** `Last-Event-ID` (header) or `last_event_id` (query): a whole number, or undefined for "live only". */
function lastEventId(header: string | string[] | undefined, query: string | undefined): number | undefined {
  const text = (Array.isArray(header) ? header[0] : header) ?? query;
  if (text === undefined || text === '') return undefined;
  if (!/^[0-9]{1,15}$/.test(text)) throw new BatonError('BAD_REQUEST', `Last-Event-ID must be a whole number (got "${text.slice(0, 40)}")`);
  return Number(text);
}

function kindsFrom(types: string | undefined): readonly string[] {
  if (types === undefined) return EVENT_TYPES;
  const kinds = types
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  const bad = kinds.find((k) => !(EVENT_TYPES as readonly string[]).includes(k));
  if (bad !== undefined || kinds.length === 0) throw new BatonError('BAD_REQUEST', `types must be a comma-separated list of ${EVENT_TYPES.join(', ')} (got "${types}")`);
  return kinds;
}

/** Watching: the event stream and waiting for a job to end. */
export function watchRoutes(app: App, jobs: JobService, eventLog: EventLog, log: Logger): void {
  const eventsSchema = {
    operationId: 'events',
    tags: ['events'],
    summary: 'Every job, worker and schedule change as it happens (server-sent events); missed ones first with Last-Event-ID',
    querystring: EventsQuerySchema,
    response: {
      200: {
        description: 'a text/event-stream: `event: job|worker|schedule`, `id`, and the job, worker or schedule as JSON',
        content: { 'text/event-stream': { schema: Type.String() } },
      },
    },
  };
  app.get('/v1/events', { schema: eventsSchema }, async (req, reply) => {
    const after = lastEventId(req.headers['last-event-id'], req.query.last_event_id);
    const jobId = req.query.job_id;
    const kinds = jobId === undefined ? kindsFrom(req.query.types) : kindsFrom(req.query.types).filter((k) => k === 'job');
    const filter: EventFilter = { kinds, ...(jobId !== undefined && { entityId: jobId }) };
    const matches = (e: EventRecord): boolean => kinds.includes(e.kind) && (jobId === undefined || e.entityId === jobId);

    const stream = openSse(req, reply);
    let sent = after ?? 0;
    const send = (e: EventRecord): void => {
      if (e.id <= sent) return; // replayed already
      sent = e.id;
      stream.send(e.id, e.kind, e.data);
    };
    // Listen first, hold live events while replaying, then send the held ones the replay did not reach.
    let held: EventRecord[] | undefined = after === undefined ? undefined : [];
    const onRecorded = (e: EventRecord): void => {
      if (!matches(e)) return;
      if (held) held.push(e);
      else send(e);
    };
    eventLog.on('recorded', onRecorded);
    const ping = setInterval(() => stream.comment('ping'), PING_MS);
    stream.onClose(() => {
      eventLog.off('recorded', onRecorded);
      clearInterval(ping);
    });
    if (held) {
      try {
        for (;;) {
          const page = await eventLog.since(sent, REPLAY_PAGE, filter);
          for (const e of page) send(e);
          if (page.length < REPLAY_PAGE || stream.closed) break;
        }
      } catch (err) {
        log.error({ err, after }, 'event replay failed');
        stream.comment('replay failed; reconnect with Last-Event-ID to try again');
      }
      const rest: EventRecord[] = held;
      held = undefined;
      for (const e of rest) send(e);
    }
  });

  const waitSchema = {
    operationId: 'waitJob',
    tags: ['jobs'],
    summary: 'Wait for the job to end: 200 when it is final, 202 with the job as it is when the timeout passes first',
    params: JobIdParams,
    querystring: WaitQuerySchema,
    response: { 200: JobDetailSchema, 202: JobDetailSchema },
    errors: [404],
  };
  app.get('/v1/jobs/:id/wait', { schema: waitSchema }, async (req, reply) => {
    req.raw.socket.setTimeout(0);
    // A caller that leaves stops the wait.
    const left = new AbortController();
    reply.raw.on('close', () => left.abort());
    const { done, detail } = await jobs.wait(req.params.id, Math.round((req.query.timeout ?? DEFAULT_WAIT_S) * 1000), left.signal);
    return reply.code(done ? 200 : 202).send(jobDetailView(detail));
  });
}
