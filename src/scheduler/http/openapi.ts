import type { SwaggerOptions } from '@fastify/swagger';
import type { FastifySchema } from 'fastify';
import { ErrorBodySchema } from '../../api/errors.js';
import { requirementOf } from '../auth/roles.js';

declare module 'fastify' {
  interface FastifySchema {
    /**
     * The error statuses the route can answer with besides those every route of its kind can
     * (401 and 403 with a token required, 400 and 413 with a body): only for the OpenAPI
     * document. Errors are not given to the response serializer, so an error body is sent as made.
     */
    errors?: readonly number[];
  }
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'a bad field (named in the error), bad JSON or a bad query parameter',
  401: 'no token, or one the scheduler does not know (when API tokens are on)',
  403: "the token's role may not make this call",
  404: 'no such worker or job',
  409: 'the job or worker is in the wrong state for this call',
  413: 'the request body is larger than the limit',
  429: 'the queue is full, or too many failed authentications: see Retry-After',
  502: 'the worker could not be reached',
  503: 'not ready, or the worker cannot take the job',
  504: 'the worker did not answer in time',
};

/** The OpenAPI document: 3.1, so the schemas are JSON Schema 2020-12 as TypeBox writes them. */
export function openapiOptions(version: string): SwaggerOptions {
  return {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Baton scheduler API',
        version,
        description: 'Jobs, workers, output and events. The original calls (/start, /stop, /query, /stream) take JSON whatever the content type says.',
      },
      tags: [
        { name: 'original', description: 'The four calls of the original system; success bodies byte for byte as it sent them' },
        { name: 'jobs', description: 'Submit, list, watch and stop jobs' },
        { name: 'workers', description: 'The fleet' },
        { name: 'schedules', description: 'Cron schedules: each tick runs a job, once' },
        { name: 'events', description: 'Job, worker and schedule changes as they happen' },
        { name: 'tokens', description: 'API tokens: who is calling, and (admin) making and revoking them' },
        { name: 'health', description: 'Liveness and readiness' },
      ],
      components: { securitySchemes: { token: { type: 'http', scheme: 'bearer', description: 'an API token from `baton token create`' } } },
      security: [{ token: [] }],
    },
    transform: ({ schema, url, route }) => ({ schema: withErrors(schema, route.method, url), url }),
  };
}

function withErrors(schema: FastifySchema | undefined, method: string | string[], url: string): FastifySchema {
  if (schema === undefined || schema.hide === true) return schema ?? {};
  const { errors = [], ...rest } = schema;
  const statuses = new Set(errors);
  if (schema.body !== undefined) {
    statuses.add(400);
    statuses.add(413);
  }
  if (schema.querystring !== undefined || schema.params !== undefined) statuses.add(400);
  const need = requirementOf(Array.isArray(method) ? (method[0] ?? 'GET') : method, url);
  if (need !== 'open') {
    statuses.add(401);
    statuses.add(403);
  }
  const response: Record<string, unknown> = { ...(rest.response as Record<string, unknown> | undefined) };
  for (const status of [...statuses].sort()) response[status] = { ...ErrorBodySchema, description: STATUS_TEXT[status] ?? 'an error' };
  return { ...rest, response, ...(need === 'open' && { security: [] }) };
}
