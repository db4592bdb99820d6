import { test } from 'node:test';
import assert from 'node:assert/strict';
import { base64Bytes } from './job-store.js';

test('base64Bytes: what Buffer.from(text, "base64") decodes to, for every padding', () => {
  for (let n = 0; n <= 12; n++) {
    const text = Buffer.alloc(n, 0xab).toString('base64');
    assert.equal(base64Bytes(text), n, text);
  }
});
