import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { isGrpcServerError, isServerError } from './metrics.js';

test('only 5xx HTTP answers count as errors', () => {
  const table: [number, boolean][] = [
    [200, false],
    [201, false],
    [400, false],
    [401, false],
    [404, false],
    [409, false],
    [429, false],
    [499, false],
    [500, true],
    [502, true],
    [503, true],
    [504, true],
  ];
  for (const [status, error] of table) assert.equal(isServerError(status), error, String(status));
});

test('gRPC codes count as errors where HTTP would answer 5xx', () => {
  const errors = new Set(['INTERNAL', 'UNKNOWN', 'DATA_LOSS', 'UNIMPLEMENTED', 'UNAVAILABLE', 'DEADLINE_EXCEEDED']);
  // Every status grpc-js knows, by the name the metrics label carries.
  for (const name of Object.keys(GrpcStatus).filter((k) => Number.isNaN(Number(k)))) assert.equal(isGrpcServerError(name), errors.has(name), name);
});
