/**
 * Roles and the one table that says which role each HTTP route needs. Pure.
 *
 * Each role includes the ones below it: an operator can do everything a viewer can, an
 * admin everything an operator can. The HTTP layer refuses to register a route that is
 * missing here, so a new route cannot be left open by forgetting it.
 */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** `open`: anyone, no token needed. */
export type Requirement = Role | 'open';

export function isRole(text: unknown): text is Role {
  return typeof text === 'string' && (ROLES as readonly string[]).includes(text);
}

/** Does a token with role `have` satisfy `need`? */
export function allows(have: Role, need: Requirement): boolean {
  return need === 'open' || ROLES.indexOf(have) >= ROLES.indexOf(need);
}

/** Where the API docs page is served: open, like the OpenAPI document it renders. */
export const DOCS_PREFIX = '/docs';

/** `METHOD /route/:pattern` → the role it needs (route patterns as registered with fastify). */
export const ROUTE_ROLES: Readonly<Record<string, Requirement>> = {
  'GET /healthz': 'open',
  'GET /readyz': 'open',
  // The API's shape is public (it is in the README too); its data is not.
  'GET /openapi.json': 'open',
  // Counts and timings, no commands or ids but worker ids: a viewer's.
  'GET /metrics': 'viewer',
  // The web dashboard's page and files: it asks for a token itself when the API needs one.
  'GET /': 'open',
  'GET /assets/*': 'open',

  // Reading: workers, jobs, output.
  'GET /v1/workers': 'viewer',
  'GET /v1/workers/:id': 'viewer',
  'GET /v1/jobs': 'viewer',
  'GET /v1/jobs/:id': 'viewer',
  'GET /v1/jobs/:id/output': 'viewer',
  'GET /v1/jobs/:id/output/search': 'viewer',
  'GET /v1/jobs/:id/wait': 'viewer',
  'GET /v1/events': 'viewer',
  'GET /v1/schedules': 'viewer',
  'GET /v1/schedules/:name': 'viewer',
  // Any valid token may learn its own name and role.
  'GET /v1/whoami': 'viewer',

  // Running and stopping jobs. The original calls are all POSTs and reach the worker, so all need operator.
  'POST /start': 'operator',
  'POST /stop': 'operator',
  'POST /query': 'operator',
  'POST /stream': 'operator',
  'POST /v1/jobs': 'operator',
  'POST /v1/jobs/batch': 'operator',
  'POST /v1/jobs/:id/stop': 'operator',
  // Schedules run jobs: whoever may run jobs may schedule and trigger them.
  'POST /v1/schedules': 'operator',
  'PATCH /v1/schedules/:name': 'operator',
  'DELETE /v1/schedules/:name': 'operator',
  'POST /v1/schedules/:name/trigger': 'operator',

  // Fleet administration.
  'POST /v1/workers/:id/drain': 'admin',
  'DELETE /v1/workers/:id/drain': 'admin',
  'DELETE /v1/workers/:id': 'admin',

  // Token management.
  'GET /v1/tokens': 'admin',
  'POST /v1/tokens': 'admin',
  'DELETE /v1/tokens/:name': 'admin',
};

/**
 * The requirement of a matched route; HEAD follows its GET. A request that matched no route
 * (it will be answered 404) still needs a valid token, so the API's shape is not shown to strangers.
 */
export function requirementOf(method: string, routeUrl: string | undefined): Requirement | undefined {
  if (routeUrl === undefined) return 'viewer';
  // The API docs page and its files (@fastify/swagger-ui registers several routes under it).
  if (routeUrl === DOCS_PREFIX || routeUrl.startsWith(`${DOCS_PREFIX}/`)) return 'open';
  const m = method === 'HEAD' ? 'GET' : method;
  return ROUTE_ROLES[`${m} ${routeUrl}`];
}
