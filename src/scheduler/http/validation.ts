import type { FastifySchemaValidationError } from 'fastify/types/schema.js';

/**
 * How the HTTP API reads what callers send. Bodies are JSON and must match their schema as
 * they are: no coercion, no field dropped. Query strings can only carry text, so a number or
 * a boolean there is read from its plain decimal or true/false spelling before the check, and
 * anything else is left as text for the schema to refuse. Pure: no I/O.
 */

/** Options for fastify's Ajv: strict bodies (its defaults coerce types and drop unknown keys). */
export const AJV_OPTIONS = {
  coerceTypes: false,
  removeAdditional: false,
  useDefaults: true,
  allErrors: false,
  // Gives refusals of an unknown field the schema it broke, to list the known ones.
  verbose: true,
} as const;

interface PropertySchema {
  type?: unknown;
}

/** Bounded, so the number is always finite and exact enough; "1e400", "0x10" and " 5" stay text. */
const DECIMAL = /^-?(0|[1-9][0-9]{0,15})(\.[0-9]{1,15})?$/;

/** Reads the numbers and booleans of a parsed query string in place, as its schema's properties say. */
export function coerceQuery(schema: { properties?: Record<string, PropertySchema> }, query: Record<string, unknown>): void {
  const properties = schema.properties;
  if (properties === undefined) return;
  for (const [key, value] of Object.entries(query)) {
    if (typeof value !== 'string' || !Object.hasOwn(properties, key)) continue;
    const type = properties[key]?.type;
    if ((type === 'integer' || type === 'number') && DECIMAL.test(value)) query[key] = Number(value);
    else if (type === 'boolean' && (value === 'true' || value === 'false')) query[key] = value === 'true';
  }
}

/**
 * `/jobs/2/retry/on` → `jobs[2].retry.on` (JSON pointer escapes undone); `key`, a property name
 * (never an index, even when it is all digits), is added after a dot.
 */
function fieldName(pointer: string, key?: string): string {
  const parts = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
  const path = parts.reduce((acc, p) => (/^[0-9]+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
  return key === undefined ? path : path ? `${path}.${key}` : key;
}

/**
 * A schema refusal as a sentence naming the field: `jobs[2].priority must be integer`,
 * `command is required`, `lables is not a known field (known: …)`. `part` names what was
 * checked ("body", "querystring", "params") when the whole of it is wrong.
 */
export function validationMessage(errors: readonly FastifySchemaValidationError[], part: string): string {
  const first = errors.find((e) => e.keyword === 'anyOf') ?? errors[0];
  if (first === undefined) return `${part} is not valid`;
  const params = first.params as Record<string, unknown>;
  const at = (extra?: string): string => fieldName(first.instancePath, extra) || part;
  switch (first.keyword) {
    case 'required':
      return `${at(String(params.missingProperty))} is required`;
    case 'additionalProperties': {
      const known = Object.keys((first as { parentSchema?: { properties?: object } }).parentSchema?.properties ?? {});
      return `${at(String(params.additionalProperty))} is not a known field${known.length > 0 ? ` (known: ${known.join(', ')})` : ''}`;
    }
    case 'enum':
      return `${at()} must be one of ${(params.allowedValues as unknown[]).map(String).join(', ')}`;
    case 'anyOf': {
      const types = errors.filter((e) => e.keyword === 'type' && e.instancePath === first.instancePath).map((e) => String((e.params as { type?: unknown }).type));
      return `${at()} must be ${types.length > 0 ? types.join(' or ') : 'one of the allowed shapes'}`;
    }
    default:
      return `${at()} ${first.message ?? 'is not valid'}`;
  }
}

/** fastify's `schemaErrorFormatter`: the error sendError answers with 400. */
export function validationError(errors: FastifySchemaValidationError[], part: string): Error {
  return new Error(validationMessage(errors, part));
}
