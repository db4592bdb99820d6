import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Every token starts with this, so a leaked one is easy to recognise (secret scanners, logs). */
export const TOKEN_PREFIX = 'baton_';

/** A new secret (32 random bytes, base64url) and the hash that is stored in its place. */
export function newToken(): { secret: string; hash: string } {
  const secret = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  return { secret, hash: hashToken(secret) };
}

/** Hex SHA-256 of the token text. The secret has 256 bits of entropy, so a plain hash is enough. */
export function hashToken(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** The token of an `Authorization: Bearer <token>` header; undefined when absent or malformed. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^Bearer[ \t]+([A-Za-z0-9._~+/=-]{1,512})[ \t]*$/i.exec(header);
  return m?.[1];
}

/**
 * Finds the entry whose hash equals the presented token's, comparing against every entry
 * in constant time (no early exit), so timing tells nothing about how close a guess was.
 */
export function matchToken<T extends { hash: string }>(secret: string, entries: readonly T[]): T | undefined {
  const presented = Buffer.from(hashToken(secret), 'hex');
  let found: T | undefined;
  for (const entry of entries) {
    const stored = Buffer.from(entry.hash, 'hex');
    if (stored.length === presented.length && timingSafeEqual(stored, presented) && found === undefined) found = entry;
  }
  return found;
}

/** Token names: what `baton token create --name` and `POST /v1/tokens` accept. */
export const TOKEN_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
export const TOKEN_NAME_RULE = 'a token name is 1-64 characters: letters, digits and . _ @ -, starting with a letter or digit';
