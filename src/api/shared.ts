import { Type, type Static, type TProperties, type TSchema } from 'typebox';

/**
 * Building blocks of the HTTP API's shapes. Every request and response shape is defined once
 * in this folder; fastify validates and serializes with it, `/openapi.json` is made from it,
 * and the client's types are derived from it (`src/client/types.ts`).
 */

/** Longest worker or job id accepted. */
export const MAX_ID = 256;
/**
 * Longest command, path or cwd accepted (Linux PATH_MAX). Longer ones can only be refused, and a
 * worker's refusal quotes them: a message of tens of kilobytes overflowed the gRPC trailer and
 * hung the call (found by test/fuzz.test.ts).
 */
export const MAX_PATH = 4096;

export const Id = Type.String({ minLength: 1, maxLength: MAX_ID });

/** What a caller sends: a field the shape does not name is refused, never dropped. */
export function Strict<T extends TProperties>(properties: T, options: { description?: string } = {}) {
  return Type.Object(properties, { ...options, additionalProperties: false });
}

/**
 * `type: [T, "null"]` rather than `anyOf`: OpenAPI 3.1 reads it as it is, and the response
 * serializer checks it with `typeof` instead of running a validator per field.
 */
export function Nullable<T extends TSchema & { type: string }>(schema: T) {
  return Type.Unsafe<Static<T> | null>({ ...schema, type: [schema.type, 'null'] });
}

/** An ISO-8601 time in UTC, as `Date.toISOString()` writes it. */
export const Time = Type.String({ format: 'date-time' });
export const NullableTime = Nullable(Time);

export const StringMap = Type.Record(Type.String(), Type.String());
