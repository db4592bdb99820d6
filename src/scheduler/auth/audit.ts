import type { Principal } from './authenticator.js';
import type { Role } from './roles.js';

/**
 * The audit trail: which HTTP calls get an `audit` log line and what it says. Pure: the HTTP
 * layer passes what it knows of a finished request. A line names who, from where, what and
 * with which outcome, and the job, worker or token concerned; never a secret, since it is built
 * from a fixed list of fields and never from a whole body or answer.
 */

/** Why a request was refused before any handler ran. */
export type AuthFailure = 'no_token' | 'bad_token' | 'throttled';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** POSTs only because the original API made every call one: they read and change nothing. */
const READING_POSTS = new Set(['/query', '/stream']);

/** Longest id or name copied into a line: they come from callers, whose strings may be huge. */
const MAX_TEXT = 128;

export interface AuditFacts {
  method: string;
  /** The matched route's pattern (`/v1/jobs/:id/stop`); undefined when no route matched. */
  route: string | undefined;
  /** The request's path without its query string. */
  path: string;
  status: number;
  /** Who the auth hook found (null: nobody, or an open route). */
  principal: Principal | null;
  authFailure: AuthFailure | null;
  /** The caller's address: the socket's peer, or the client a trusted proxy forwarded for. */
  client: string;
  /** The socket's peer when it is a trusted proxy speaking for `client`. */
  proxy: string | undefined;
  params: unknown;
  body: unknown;
  /** The answer's body as the handler gave it (before serialisation), when it was an object. */
  reply: unknown;
}

export interface AuditRecord {
  actor: string;
  role: Role | null;
  client: string;
  proxy?: string;
  method: string;
  route: string;
  status: number;
  auth_failure?: AuthFailure;
  job_id?: string;
  job_ids?: string[];
  worker_id?: string;
  token?: string;
}

/** Every failed authentication, every call refused for its role, and every call that changes something. */
export function isAudited(facts: Pick<AuditFacts, 'method' | 'route' | 'status' | 'authFailure'>): boolean {
  if (facts.authFailure !== null || facts.status === 403) return true;
  return MUTATING.has(facts.method) && !(facts.method === 'POST' && facts.route !== undefined && READING_POSTS.has(facts.route));
}

export function auditRecord(facts: AuditFacts): AuditRecord {
  const route = facts.route ?? facts.path.slice(0, 2 * MAX_TEXT);
  // Optional fields are assigned, not spread in: a spread takes V8's slow path on every call.
  const record: AuditRecord = {
    actor: facts.principal?.name ?? 'anonymous',
    role: facts.principal?.role ?? null,
    client: facts.client,
    method: facts.method,
    route,
    status: facts.status,
  };
  if (facts.proxy !== undefined) record.proxy = facts.proxy;
  if (facts.authFailure !== null) record.auth_failure = facts.authFailure;
  const param = text(field(facts.params, 'id'));
  const job =
    (route.startsWith('/v1/jobs/:id') ? param : undefined) ??
    text(field(facts.body, 'job_id')) ??
    text(field(facts.reply, 'job_id')) ??
    (route === '/v1/jobs' ? text(field(facts.reply, 'id')) : undefined);
  if (job !== undefined) record.job_id = job;
  const batch = field(facts.reply, 'jobs');
  if (route === '/v1/jobs/batch' && Array.isArray(batch)) record.job_ids = batch.flatMap((j) => text(field(j, 'id')) ?? []);
  const worker = (route.startsWith('/v1/workers/:id') ? param : undefined) ?? text(field(facts.body, 'worker_id')) ?? text(field(facts.reply, 'worker_id'));
  if (worker !== undefined) record.worker_id = worker;
  // The token's name; its secret (`token` in the answer to POST /v1/tokens) is never read.
  if (route.startsWith('/v1/tokens')) {
    const name = text(field(facts.params, 'name')) ?? text(field(facts.body, 'name'));
    if (name !== undefined) record.token = name;
  }
  return record;
}

function field(from: unknown, key: string): unknown {
  return typeof from === 'object' && from !== null && !Array.isArray(from) ? (from as Record<string, unknown>)[key] : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value.slice(0, MAX_TEXT) : undefined;
}
