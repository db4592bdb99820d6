import type { AuthFailure } from '../auth/audit.js';
import { ANONYMOUS, type Authenticator, type Principal } from '../auth/authenticator.js';
import { allows, requirementOf } from '../auth/roles.js';
import type { FailureThrottle } from '../auth/throttle.js';
import { bearerToken } from '../auth/tokens.js';
import type { App } from './app.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling: set by the auth hook before any handler runs (null on open routes and refused requests). */
    principal: Principal | null;
    /** Why the auth hook refused the request (null: it did not). */
    authFailure: AuthFailure | null;
  }
}

export interface AuthOptions {
  /** false: `--no-auth`, every caller is "anonymous" with every right. */
  enabled: boolean;
  authenticator: Authenticator;
  throttle: FailureThrottle;
  /** `--trusted-proxy`: peers whose X-Forwarded-For names the client (fastify's `trustProxy`). */
  trustedProxies: string[];
  now?: () => number;
}

export const MISSING_TOKEN = 'missing or invalid API token: send Authorization: Bearer <token>';

/** The caller's name for the job record. */
export function callerName(req: { principal: Principal | null }): string {
  return req.principal?.name ?? ANONYMOUS.name;
}

/**
 * One hook enforces the route table (`ROUTE_ROLES`): it runs on every request before the
 * body is read, so an unauthenticated caller costs no parsing. A route missing from the
 * table cannot be registered at all.
 */
export function installAuth(app: App, opts: AuthOptions): void {
  const now = opts.now ?? Date.now;
  app.decorateRequest('principal', null);
  app.decorateRequest('authFailure', null);

  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      if (requirementOf(method, route.url) === undefined) {
        throw new Error(`route ${method} ${route.url} needs an entry in ROUTE_ROLES (src/scheduler/auth/roles.ts)`);
      }
    }
  });

  app.addHook('onRequest', async (req, reply) => {
    const need = requirementOf(req.method, req.routeOptions.url) ?? 'admin';
    if (need === 'open') return;
    if (!opts.enabled) {
      req.principal = ANONYMOUS;
      return;
    }
    // The token is judged first, in constant time, whatever the address has failed before: a
    // valid token is always served, only failing attempts are refused once the budget is spent.
    const header = req.headers.authorization;
    const secret = bearerToken(header);
    const principal = secret === undefined ? undefined : await opts.authenticator.authenticate(secret);
    // The socket's peer, or with --trusted-proxy the client that proxy forwarded for.
    const address = req.ip ?? 'unknown';
    const verdict = opts.throttle.judge(address, principal ? 'valid' : header === undefined ? 'missing' : 'invalid', now());
    if (verdict.action === 'throttled') {
      req.authFailure = 'throttled';
      const seconds = Math.ceil(verdict.retryAfterMs / 1000);
      return reply
        .code(429)
        .header('retry-after', String(seconds))
        .send({ error: `too many failed authentication attempts from ${address}: send a valid token, or retry in ${seconds}s` });
    }
    if (!principal) {
      req.authFailure = header === undefined ? 'no_token' : 'bad_token';
      return reply.code(401).header('www-authenticate', 'Bearer realm="baton"').send({ error: MISSING_TOKEN });
    }
    req.principal = principal;
    if (!allows(principal.role, need)) {
      return reply.code(403).send({ error: `this call needs the ${need} role; your token (name ${principal.name}) has ${principal.role}` });
    }
  });
}
