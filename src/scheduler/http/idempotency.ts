import { createHash } from 'node:crypto';
import { BatonError } from '../../common/errors.js';

const MAX_KEY = 200;

/** The Idempotency-Key header: undefined when absent; BAD_REQUEST when empty, repeated or too long. */
export function idempotencyKey(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (Array.isArray(header)) throw new BatonError('BAD_REQUEST', 'send one Idempotency-Key header, not several');
  if (header.length < 1 || header.length > MAX_KEY) throw new BatonError('BAD_REQUEST', `Idempotency-Key must be 1 to ${MAX_KEY} characters (got ${header.length})`);
  return header;
}

/** SHA-256 of the body with its object keys sorted: the same request in another key order is the same request. */
export function requestHash(body: unknown): string {
  return createHash('sha256').update(stableJson(body)).digest('hex');
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
