import { BatonApiError, BatonClient } from '../../src/client/index.js';

/** The page's client: same origin as the scheduler; the token (when the API needs one) kept in this browser. */
const TOKEN_KEY = 'baton.token';

export function savedToken(): string {
  return localStorage.getItem(TOKEN_KEY) ?? '';
}

export function saveToken(token: string): void {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

export function makeClient(token: string): BatonClient {
  return new BatonClient({ address: location.origin, token: token || undefined });
}

export function needsToken(err: unknown): boolean {
  return err instanceof BatonApiError && err.status === 401;
}

/**
 * The token (or its absence) was refused: 401, or 429 once this address has spent its budget of
 * failed attempts (a valid token is never answered 429). Only for reads: a submit's 429 is a full queue.
 */
export function refusedToken(err: unknown): boolean {
  return needsToken(err) || (err instanceof BatonApiError && err.status === 429);
}

/** Why the token form refused a token, in words that say what to do. */
export function tokenProblem(err: unknown): string {
  if (err instanceof BatonApiError && err.status === 429) return `Refused: ${err.message}.`;
  return 'This token was not accepted: the scheduler has no live token like it. Check it was copied whole, that it was not revoked (baton token list), and that it was made for this scheduler.';
}

export function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
