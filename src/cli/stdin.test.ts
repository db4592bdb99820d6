import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readAllBounded } from './stdin.js';

async function* chunks(...parts: (string | Uint8Array)[]): AsyncIterable<string | Uint8Array> {
  for (const p of parts) yield p;
}

describe('readAllBounded', () => {
  it('joins the chunks, bytes as they are', async () => {
    assert.deepEqual(await readAllBounded(chunks('hi', new Uint8Array([0, 255]), '\n'), 10), Buffer.from([0x68, 0x69, 0, 255, 0x0a]));
  });
  it('nothing: empty', async () => {
    assert.equal((await readAllBounded(chunks(), 10)).length, 0);
  });
  it('exactly the limit is fine', async () => {
    assert.equal((await readAllBounded(chunks('12345', '67890'), 10)).length, 10);
  });
  it('one byte past the limit is an error that says what to do', async () => {
    await assert.rejects(readAllBounded(chunks('12345', '678901'), 10), /stdin is larger than .* KiB, the most -i sends with a job: put larger input in a file/);
  });
});
