import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FastifySchemaValidationError } from 'fastify/types/schema.js';
import { coerceQuery, validationMessage } from './validation.js';

describe('coerceQuery', () => {
  const schema = { properties: { limit: { type: 'integer' }, timeout: { type: 'number' }, follow: { type: 'boolean' }, state: { type: 'string' } } };
  const cases: [Record<string, unknown>, Record<string, unknown>][] = [
    [{ limit: '10' }, { limit: 10 }],
    [{ timeout: '0.5' }, { timeout: 0.5 }],
    [{ limit: '-3' }, { limit: -3 }],
    [{ follow: 'true' }, { follow: true }],
    [{ follow: 'false' }, { follow: false }],
    // Left as text, for the schema to refuse with the field's name.
    [{ limit: 'abc' }, { limit: 'abc' }],
    [{ limit: '1e400' }, { limit: '1e400' }],
    [{ limit: '0x10' }, { limit: '0x10' }],
    [{ limit: ' 5' }, { limit: ' 5' }],
    [{ limit: '' }, { limit: '' }],
    [{ limit: ['1', '2'] }, { limit: ['1', '2'] }],
    [{ follow: '1' }, { follow: '1' }],
    [{ state: '5' }, { state: '5' }],
    [{ other: '5' }, { other: '5' }],
  ];
  for (const [query, expected] of cases) {
    it(`${JSON.stringify(query)} → ${JSON.stringify(expected)}`, () => {
      const q = { ...query };
      coerceQuery(schema, q);
      assert.deepEqual(q, expected);
    });
  }
});

describe('validationMessage', () => {
  const e = (keyword: string, instancePath: string, params: Record<string, unknown>, extra: Partial<FastifySchemaValidationError> & { parentSchema?: unknown } = {}) =>
    ({ keyword, instancePath, schemaPath: '', params, message: extra.message, ...extra }) as FastifySchemaValidationError;
  const cases: [string, FastifySchemaValidationError[], string, string][] = [
    ['a missing field', [e('required', '', { missingProperty: 'command' })], 'body', 'command is required'],
    ['a missing field in a batch', [e('required', '/jobs/0', { missingProperty: 'command' })], 'body', 'jobs[0].command is required'],
    ['a wrong type', [e('type', '/priority', { type: 'integer' }, { message: 'must be integer' })], 'body', 'priority must be integer'],
    ['a wrong type in a batch', [e('type', '/jobs/2/priority', { type: 'integer' }, { message: 'must be integer' })], 'body', 'jobs[2].priority must be integer'],
    [
      'an unknown field',
      [e('additionalProperties', '', { additionalProperty: 'lables' }, { parentSchema: { properties: { command: {}, labels: {} } } })],
      'body',
      'lables is not a known field (known: command, labels)',
    ],
    ['an unknown field spelt in digits', [e('additionalProperties', '/jobs/0', { additionalProperty: '7' })], 'body', 'jobs[0].7 is not a known field'],
    ['an unknown nested field', [e('additionalProperties', '/retry', { additionalProperty: 'tries' })], 'body', 'retry.tries is not a known field'],
    ['a value not in the list', [e('enum', '/state', { allowedValues: ['queued', 'running'] })], 'querystring', 'state must be one of queued, running'],
    [
      'none of the shapes',
      [e('type', '/resources/memory', { type: 'string' }), e('type', '/resources/memory', { type: 'number' }), e('anyOf', '/resources/memory', {})],
      'body',
      'resources.memory must be string or number',
    ],
    ['the whole body', [e('type', '', { type: 'object' }, { message: 'must be object' })], 'body', 'body must be object'],
    ['a pointer escape', [e('type', '/env/a~1b', { type: 'string' }, { message: 'must be string' })], 'body', 'env.a/b must be string'],
  ];
  for (const [name, errors, part, expected] of cases) it(name, () => assert.equal(validationMessage(errors, part), expected));
});
