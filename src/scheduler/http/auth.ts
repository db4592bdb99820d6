import { ANONYMOUS, type Authenticator, type Principal } from '../auth/authenticator.js';
import { allows, requirementOf } from '../auth/roles.js';
import type { FailureThrottle } from '../auth/throttle.js';
import { bearerToken } from '../auth/tokens.js';
import { errorBody } from '../../common/errors.js';
import type { App } from './app.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling: set by the auth hook before any handler runs (null only on open routes). */
    principal: Principal | null;
  }
}

export interface AuthOptions {
  /** false: `--no-auth`, every caller is "anonymous" with every right. */
  enabled: boolean;
  authenticator: Authenticator;
  throttle: FailureThrottle;
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
    const address = req.ip ?? 'unknown';
    const waitMs = opts.throttle.retryAfterMs(address, now());
    if (waitMs > 0) {
      const seconds = Math.ceil(waitMs / 1000);
      return reply
        .code(429)
        .header('retry-after', String(seconds))
        .send(errorBody('RATE_LIMITED', `too many failed authentication attempts from ${address}; retry in ${seconds}s`));
    }
    const header = req.headers.authorization;
    const secret = bearerToken(header);
    const principal = secret === undefined ? undefined : await opts.authenticator.authenticate(secret);
    if (!principal) {
      // Only presented credentials count as guesses; a call with no Authorization header at all does not.
      if (header !== undefined) opts.throttle.recordFailure(address, now());
      return reply.code(401).header('www-authenticate', 'Bearer realm="baton"').send(errorBody('UNAUTHENTICATED', MISSING_TOKEN));
    }
    req.principal = principal;
    if (!allows(principal.role, need)) {
      return reply.code(403).send(errorBody('FORBIDDEN', `this call needs the ${need} role; your token (name ${principal.name}) has ${principal.role}`));
    }
  });
}
