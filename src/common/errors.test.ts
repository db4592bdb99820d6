import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { BatonError, codeForStatus, echo, ERRORS, errorBody, fromWorkerCallError, toGrpcError, wireCode, type ErrorCode } from './errors.js';
import { packageRoot } from './package-root.js';

const CODES = Object.keys(ERRORS) as ErrorCode[];

/** The rows of the README's table of codes: code → [status, meaning] (cells may be padded to line up). */
function readmeCodes(): Map<string, [number, string]> {
  const lines = readFileSync(path.join(packageRoot, 'README.md'), 'utf8').split('\n');
  const cells = (line: string): string[] =>
    line
      .slice(1, -1)
      .split('|')
      .map((c) => c.trim());
  const start = lines.findIndex((l) => l.startsWith('|') && cells(l).join(',') === 'code,status,meaning');
  assert.ok(start >= 0, 'the README has a table headed | code | status | meaning |');
  const rows = new Map<string, [number, string]>();
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const [code, status, meaning] = cells(line);
    const name = /^`([a-z_]+)`$/.exec(code ?? '')?.[1];
    assert.ok(name !== undefined && /^\d{3}$/.test(status ?? '') && meaning, `a row of the codes table reads | \`code\` | status | meaning |: ${line}`);
    assert.ok(!rows.has(name), `${name} is listed once`);
    rows.set(name, [Number(status), meaning]);
  }
  return rows;
}

const workerError = (code: GrpcStatus, details: string, trailer?: string): ServiceError => {
  const metadata = new Metadata();
  if (trailer) metadata.set('baton-error-code', trailer);
  return Object.assign(new Error(details), { code, details, metadata });
};

describe('the error catalogue', () => {
  it("the README's table lists every code with its status and meaning, and nothing else", () => {
    const listed = readmeCodes();
    for (const code of CODES) {
      const row = listed.get(wireCode(code));
      assert.ok(row, `${wireCode(code)} is in the README's table`);
      assert.deepEqual(row, [ERRORS[code].http, ERRORS[code].meaning], `the README's row for ${wireCode(code)}`);
    }
    const known = new Set<string>(CODES.map(wireCode));
    for (const code of listed.keys()) assert.ok(known.has(code), `the README lists ${code}, which the catalogue does not have`);
  });

  it('wire codes are lower snake case, unique, and every status is an error status', () => {
    for (const code of CODES) {
      assert.match(wireCode(code), /^[a-z]+(_[a-z]+)*$/);
      assert.ok(ERRORS[code].http >= 400 && ERRORS[code].http < 600, code);
    }
    assert.equal(new Set(CODES.map(wireCode)).size, CODES.length);
  });

  it('a status alone maps to its generic code', () => {
    const cases: [number, ErrorCode][] = [
      [400, 'BAD_REQUEST'],
      [404, 'NOT_FOUND'],
      [413, 'PAYLOAD_TOO_LARGE'],
      [414, 'URI_TOO_LONG'],
      [503, 'UNAVAILABLE'],
      [418, 'BAD_REQUEST'],
    ];
    for (const [status, code] of cases) assert.equal(codeForStatus(status), code, String(status));
  });

  it('echoes a short value whole and a long one as its start and length; a body is never megabytes', () => {
    assert.equal(echo('ok.sh'), 'ok.sh');
    const long = echo('x'.repeat(1024 * 1024));
    assert.ok(long.length < 150, long);
    assert.match(long, /^x{100}… \(1048576 characters\)$/);
    assert.ok(errorBody('BAD_REQUEST', 'y'.repeat(1024 * 1024)).error.length < 2_100);
    assert.deepEqual(errorBody('WORKER_DOWN', 'worker w is down'), { error: 'worker w is down', code: 'worker_down' });
  });

  it("a worker's finer code survives the gRPC hop; a coarse status without one keeps its default", () => {
    const sent = toGrpcError(new BatonError('COMMAND_NOT_FOUND', 'command not found: nope'));
    assert.equal(sent.code, GrpcStatus.INVALID_ARGUMENT);
    assert.equal(fromWorkerCallError(workerError(sent.code!, sent.details!, 'COMMAND_NOT_FOUND'), 'worker w').code, 'COMMAND_NOT_FOUND');
    assert.deepEqual(sent.metadata?.get('baton-error-code'), ['COMMAND_NOT_FOUND']);
    const cases: [ServiceError, ErrorCode][] = [
      [workerError(GrpcStatus.INVALID_ARGUMENT, 'bad'), 'BAD_REQUEST'],
      // A code that does not belong to the status is not believed.
      [workerError(GrpcStatus.INVALID_ARGUMENT, 'bad', 'WORKER_DOWN'), 'BAD_REQUEST'],
      [workerError(GrpcStatus.INVALID_ARGUMENT, 'bad', 'NO_SUCH_CODE'), 'BAD_REQUEST'],
      [workerError(GrpcStatus.NOT_FOUND, 'job j not found'), 'JOB_NOT_FOUND'],
      [workerError(GrpcStatus.FAILED_PRECONDITION, 'job j already ended'), 'WRONG_STATE'],
      [workerError(GrpcStatus.RESOURCE_EXHAUSTED, 'full'), 'WORKER_FULL'],
      [workerError(GrpcStatus.UNAVAILABLE, 'worker is shutting down', 'WORKER_DOWN'), 'WORKER_DOWN'],
      [workerError(GrpcStatus.UNAVAILABLE, 'No connection established'), 'WORKER_UNREACHABLE'],
      [workerError(GrpcStatus.DEADLINE_EXCEEDED, 'deadline'), 'WORKER_TIMEOUT'],
    ];
    for (const [err, code] of cases) assert.equal(fromWorkerCallError(err, 'worker w').code, code, err.details);
  });
});
