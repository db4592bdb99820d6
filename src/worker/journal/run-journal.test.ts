import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unfinished } from './run-journal.js';

test('unfinished: jobs started and not seen to end', () => {
  const line = (o: object) => JSON.stringify(o);
  const cases: Array<[string, string, string[]]> = [
    ['empty', '', []],
    ['one running', line({ job_id: 'a', pgid: 10, start: '5' }), ['a']],
    ['started then ended', [line({ job_id: 'a', pgid: 10, start: '5' }), line({ job_id: 'a', done: true })].join('\n'), []],
    ['two, one ended', [line({ job_id: 'a', pgid: 10, start: '5' }), line({ job_id: 'b', pgid: 11, start: '6' }), line({ job_id: 'a', done: true })].join('\n'), ['b']],
    ['a torn last line is skipped', `${line({ job_id: 'a', pgid: 10, start: '5' })}\n{"job_id":"b","pg`, ['a']],
    ['pgid 1 or 0 is never a job group', [line({ job_id: 'a', pgid: 1, start: '5' }), line({ job_id: 'b', pgid: 0, start: '5' })].join('\n'), []],
    ['missing start time', line({ job_id: 'a', pgid: 10 }), []],
  ];
  for (const [name, text, expected] of cases)
    assert.deepEqual(
      unfinished(text).map((e) => e.job_id),
      expected,
      name,
    );
});
