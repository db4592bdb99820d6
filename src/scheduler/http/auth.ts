import type { AuthFailure } from '../auth/audit.js';
import { ANONYMOUS, type Authenticator, type Principal } from '../auth/authenticator.js';
import { allows, requirementOf, type Requirement } from '../auth/roles.js';
import type { FailureThrottle } from '../auth/throttle.js';
import { bearerToken } from '../auth/tokens.js';
import { errorBody } from '../../common/errors.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
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

  // Without a token to look up (open routes, --no-auth, no Authorization header) the hook
  // decides at once and takes no promise; only a token's look-up waits.
  app.addHook('onRequest', (req, reply, done) => {
    const need = requirementOf(req.method, req.routeOptions.url) ?? 'admin';
    if (need === 'open') return done();
    if (!opts.enabled) {
      req.principal = ANONYMOUS;
      return done();
    }
    // The token is judged first, in constant time, whatever the address has failed before: a
    // valid token is always served, only failing attempts are refused once the budget is spent.
    const header = req.headers.authorization;
    const secret = bearerToken(header);
    if (secret === undefined) {
      if (admit(req, reply, need, header, undefined)) done();
      return;
    }
    opts.authenticator.authenticate(secret).then((principal) => {
      if (admit(req, reply, need, header, principal)) done();
    }, done);
  });

  /** Whether the request goes on; if not, its refusal is sent. */
  function admit(req: FastifyRequest, reply: FastifyReply, need: Exclude<Requirement, 'open'>, header: string | undefined, principal: Principal | undefined): boolean {
    // The socket's peer, or with --trusted-proxy the client that proxy forwarded for.
    const address = req.ip ?? 'unknown';
    const verdict = opts.throttle.judge(address, principal ? 'valid' : header === undefined ? 'missing' : 'invalid', now());
    if (verdict.action === 'throttled') {
      req.authFailure = 'throttled';
      const seconds = Math.ceil(verdict.retryAfterMs / 1000);
      void reply
        .code(429)
        .header('retry-after', String(seconds))
        .send(errorBody('RATE_LIMITED', `too many failed authentication attempts from ${address}: send a valid token, or retry in ${seconds}s`));
      return false;
    }
    if (!principal) {
      req.authFailure = header === undefined ? 'no_token' : 'bad_token';
      void reply.code(401).header('www-authenticate', 'Bearer realm="baton"').send(errorBody('UNAUTHENTICATED', MISSING_TOKEN));
      return false;
    }
    req.principal = principal;
    if (!allows(principal.role, need)) {
      void reply.code(403).send(errorBody('FORBIDDEN', `this call needs the ${need} role; your token (name ${principal.name}) has ${principal.role}`));
      return false;
    }
    return true;
  }
}
