import { STATUS_CODES, type Server } from 'node:http';
import type { Socket } from 'node:net';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyError, type FastifyHttpOptions, type FastifyReply, type FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { BatonError, codeForStatus, echo, ERRORS, errorBody, type ErrorCode } from '../../common/errors.js';
import { TLS_SETTINGS } from '../../common/grpc.js';
import type { Logger } from '../../common/logger.js';
import type { JobService } from '../job-service.js';
import type { Registry } from '../registry.js';
import type { Stores } from '../store/stores.js';
import { DOCS_PREFIX } from '../auth/roles.js';
import { schedulerMetrics } from '../metrics.js';
import { installAudit } from './audit.js';
import { installAuth, type AuthOptions } from './auth.js';
import { dashboardRoutes } from './dashboard.js';
import { originalRoutes } from './original-routes.js';
import { outputSearchRoute } from './output-search-route.js';
import { tokenRoutes } from './token-routes.js';
import { whoamiRoute } from './whoami-route.js';
import { v1Routes } from './v1-routes.js';
import { watchRoutes } from './watch-routes.js';
import { openapiOptions } from './openapi.js';
import { AJV_OPTIONS, coerceQuery, validationError } from './validation.js';
import { HealthSchema, ReadySchema } from '../../api/health.js';
import type { EventLog } from '../event-log.js';
import type { ScheduleService } from '../schedules/service.js';
import { scheduleRoutes } from './schedule-routes.js';

export interface HttpDeps {
  jobs: JobService;
  schedules: ScheduleService;
  registry: Registry;
  store: Pick<Stores, 'jobs' | 'tokens'>;
  eventLog: EventLog;
  log: Logger;
  bodyLimit: number;
  auth: AuthOptions;
  /** Baton's version, for the OpenAPI document. */
  version: string;
  /** PEM certificate chain and key: serve HTTPS (TLS 1.3 at least) instead of HTTP. */
  https?: { cert: Buffer; key: Buffer };
}

/**
 * The HTTP API. Every body is JSON whatever its content type says (`curl -d` sends
 * application/x-www-form-urlencoded), every error is `{"error": "...", "code": "..."}` with
 * the right status and a code from the catalogue, and a client's mistake is never a 500.
 */
export async function buildApp(deps: HttpDeps): Promise<App> {
  const app = createFastify(deps.bodyLimit, deps.https, deps.auth.trustedProxies);

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, parseJson);

  app.setErrorHandler((err: FastifyError | BatonError, req, reply) => sendError(err, req, reply, deps));
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send(errorBody('NOT_FOUND', `no route for ${echo(req.method)} ${echo(req.url.split('?')[0]!)}`));
  });

  // Requests that arrive while the server closes are refused in the catalogue's shape (fastify's own 503 has no code).
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  // Hooks on every request take `done` rather than returning a promise: a promise per hook per
  // request is a measurable share of a short request's CPU.
  app.addHook('onRequest', (_req, reply, done) => {
    if (!closing) return done();
    void reply.code(503).header('connection', 'close').send(errorBody('UNAVAILABLE', 'the scheduler is shutting down; try again once it is back'));
  });
  // A query string carries only text: its numbers and booleans are read before the schema's check.
  app.addHook('preValidation', (req, _reply, done) => {
    const schema = req.routeOptions.schema?.querystring as { properties?: Record<string, { type?: unknown }> } | undefined;
    if (schema !== undefined) coerceQuery(schema, req.query as Record<string, unknown>);
    done();
  });

  // Before the routes: it checks each one against the role table as it is registered.
  installAuth(app, deps.auth);
  installAudit(app, deps.log);
  // Also before the routes: the OpenAPI document is made from their schemas as they are added.
  await app.register(swagger, openapiOptions(deps.version));
  await app.register(swaggerUi, { routePrefix: DOCS_PREFIX, uiConfig: { docExpansion: 'list', deepLinking: true } });
  app.addHook('onResponse', (req, reply, done) => {
    schedulerMetrics.observeHttp(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    done();
  });

  app.get('/healthz', { schema: { operationId: 'health', tags: ['health'], summary: 'Alive: the process answers', response: { 200: HealthSchema } } }, () => ({
    status: 'ok' as const,
  }));
  const readySchema = { operationId: 'ready', tags: ['health'], summary: 'Ready: the store answers and the scheduler takes work', response: { 200: ReadySchema }, errors: [503] };
  app.get('/readyz', { schema: readySchema }, async () => {
    try {
      await deps.store.jobs.countJobsByState();
    } catch (err) {
      throw new BatonError('UNAVAILABLE', `not ready: the store does not answer (${(err as Error).message})`);
    }
    return { status: 'ready' as const };
  });
  app.get('/metrics', { schema: { summary: 'Prometheus metrics', hide: true } }, async (_req, reply) => {
    const text = await schedulerMetrics.registry.metrics();
    return reply.type(schedulerMetrics.registry.contentType).send(text);
  });
  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());
  originalRoutes(app, deps.jobs);
  v1Routes(app, deps.jobs, deps.registry);
  outputSearchRoute(app, deps.jobs);
  scheduleRoutes(app, deps.schedules);
  watchRoutes(app, deps.jobs, deps.eventLog, deps.log);
  tokenRoutes(app, deps.auth.authenticator, deps.store.tokens);
  whoamiRoute(app, deps.auth.enabled);
  await dashboardRoutes(app);
  return app;
}

function createFastify(bodyLimit: number, https?: { cert: Buffer; key: Buffer }, trustedProxies: string[] = []) {
  // With `https` fastify builds an https.Server; the routes and hooks are the same either way, so
  // the instance is typed as the plain-HTTP one.
  // The same TLS 1.3-only settings as the cluster's gRPC (no client certificates here: callers bring tokens).
  const tls = https ? { https: { cert: https.cert, key: https.key, ...TLS_SETTINGS } } : {};
  return Fastify({
    ...(tls as FastifyHttpOptions<Server>),
    bodyLimit,
    ajv: { customOptions: AJV_OPTIONS },
    schemaErrorFormatter: validationError,
    // req.ip believes X-Forwarded-For only from these peers (none: the socket's peer is the client).
    trustProxy: trustedProxies.length > 0 ? trustedProxies : false,
    // Idle sockets are closed after this; followed output streams lift it for their own socket.
    connectionTimeout: 60_000,
    requestTimeout: 30_000,
    // Per-request logging is noisy and costs throughput; errors are logged by sendError.
    logger: false,
    return503OnClosing: false,
    // A followed output stream would otherwise hold shutdown open until its job ends.
    forceCloseConnections: true,
    // A URL fastify cannot decode (`/%zz`) or a route parameter over the length limit: our error shape, not fastify's.
    // Both messages quote the whole URL path, which can be kilobytes long.
    frameworkErrors: (err, _req, reply: FastifyReply) => {
      const code = codeForStatus(err.statusCode ?? 400);
      void reply.code(ERRORS[code].http).send(
        errorBody(
          code,
          err.message.replace(/^'(.*)'/s, (_all, url: string) => `'${echo(url)}'`),
        ),
      );
    },
    clientErrorHandler: clientError,
  }).withTypeProvider<TypeBoxTypeProvider>();
}

/**
 * A request Node's HTTP parser refuses (bad method, bad Content-Length, header too large, timeout)
 * never reaches fastify: answer it here in the same `{"error"}` shape. `end` (not `destroy` right
 * after a write, as the default does) lets the answer reach the client before the socket closes.
 */
function clientError(err: Error & { code?: string; reason?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [code, message]: [ErrorCode, string] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? ['REQUEST_TIMEOUT', 'the request was not received in time']
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? ['HEADERS_TOO_LARGE', 'the request headers are too large']
        : ['BAD_REQUEST', `malformed HTTP request: ${err.reason ?? err.code ?? err.message}`];
  const status = ERRORS[code].http;
  const body = JSON.stringify(errorBody(code, message));
  if (socket.writable) {
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  }
  // A client that keeps sending after a refused request is cut off.
  setTimeout(() => socket.destroy(), 2_000).unref();
}

export type App = ReturnType<typeof createFastify>;

function parseJson(_req: FastifyRequest, body: string | Buffer, done: (err: Error | null, body?: unknown) => void): void {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (text.trim() === '') {
    done(null, undefined);
    return;
  }
  try {
    done(null, JSON.parse(text));
  } catch (err) {
    done(new BatonError('BAD_REQUEST', `request body is not valid JSON: ${(err as Error).message}`));
  }
}

function sendError(err: FastifyError | BatonError, req: FastifyRequest, reply: FastifyReply, deps: HttpDeps): void {
  if (reply.sent || reply.raw.headersSent) return;
  let code: ErrorCode;
  let message: string;
  if (err instanceof BatonError) {
    code = err.code;
    message = err.message;
    if (err.retryAfterS !== undefined) void reply.header('retry-after', String(err.retryAfterS));
  } else if (err.validation) {
    code = 'BAD_REQUEST';
    message = err.message;
  } else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    code = 'PAYLOAD_TOO_LARGE';
    message = `request body is larger than the ${deps.bodyLimit}-byte limit`;
    // fastify asks to close the connection; closing while the client still sends makes its
    // kernel see a reset, and the client (undici, browsers) reports "connection reset" instead of
    // this answer. Kept open, Node reads the rest of the body and drops it (bounded by
    // requestTimeout), so the client gets to read the 413.
    reply.removeHeader('connection');
  } else if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
    code = codeForStatus(err.statusCode);
    message = err.message;
  } else {
    code = 'INTERNAL';
    message = 'internal error; see the scheduler log';
  }
  const status = ERRORS[code].http;
  // An output stream that fails before its first byte leaves its text/plain headers behind.
  reply.removeHeader('content-type').removeHeader('x-content-type-options');
  if (status >= 500 && !(err instanceof BatonError)) deps.log.error({ err, method: req.method, url: req.url }, 'request failed');
  else deps.log.debug({ status, code, method: req.method, url: req.url, error: message }, 'request refused');
  void reply.code(status).send(errorBody(code, message));
}
