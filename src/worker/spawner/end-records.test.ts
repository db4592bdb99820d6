import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseEndRecord } from './end-records.js';

test('parseEndRecord: a whole record, or why the text is not one', () => {
  const good = { jobId: 'j1', pid: 42, code: 7, signal: null, startedAtMs: 1, endedAtMs: 2, meta: { command: 'bash', timeoutMs: 0 } };
  const cases: Array<[string, string, string | null]> = [
    ['a whole record', JSON.stringify(good), null],
    ['killed by a signal', JSON.stringify({ ...good, code: null, signal: 'SIGKILL' }), null],
    ['cut short (disk full)', JSON.stringify(good).slice(0, 30), 'not JSON'],
    ['empty', '', 'not JSON'],
    ['another job', JSON.stringify({ ...good, jobId: 'j2' }), 'it does not name this job'],
    ['no times', JSON.stringify({ ...good, endedAtMs: undefined }), 'pid or times missing'],
    ['no exit', JSON.stringify({ ...good, code: undefined }), 'exit code or signal missing'],
    ['no meta', JSON.stringify({ ...good, meta: null }), 'job details missing'],
  ];
  for (const [name, text, problem] of cases) {
    const parsed = parseEndRecord(text, 'j1');
    if (problem === null) assert.deepEqual(parsed, JSON.parse(text), name);
    else assert.ok(typeof parsed === 'string' && parsed.startsWith(problem), `${name}: ${String(parsed)}`);
  }
});
