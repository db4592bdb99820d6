import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SseParser, type SseMessage } from './sse.js';

test('SseParser', () => {
  const cases: Array<[string, string[], SseMessage[]]> = [
    ['one message', ['id: 1\nevent: job\ndata: {"a":1}\n\n'], [{ id: '1', event: 'job', data: '{"a":1}' }]],
    ['split anywhere', ['id: 2\nev', 'ent: worker\nda', 'ta: x\n', '\n'], [{ id: '2', event: 'worker', data: 'x' }]],
    ['comments are skipped', [': ping\n\n: connected\n\ndata: y\n\n'], [{ id: '', event: 'message', data: 'y' }]],
    ['multi-line data', ['data: a\ndata: b\n\n'], [{ id: '', event: 'message', data: 'a\nb' }]],
    ['CRLF lines, split between CR and LF', ['data: z\r', '\n\r\n'], [{ id: '', event: 'message', data: 'z' }]],
    [
      'the id carries over to later messages',
      ['id: 7\ndata: a\n\ndata: b\n\n'],
      [
        { id: '7', event: 'message', data: 'a' },
        { id: '7', event: 'message', data: 'b' },
      ],
    ],
    ['no data: no message', ['event: job\n\n'], []],
    ['unfinished message waits', ['data: a\n'], []],
    ['no space after the colon', ['data:tight\n\n'], [{ id: '', event: 'message', data: 'tight' }]],
  ];
  for (const [name, chunks, expected] of cases) {
    const p = new SseParser();
    assert.deepEqual(
      chunks.flatMap((c) => p.push(c)),
      expected,
      name,
    );
  }
});
