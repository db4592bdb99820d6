import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StreamJobResponse } from '../gen/baton/v1/worker.js';
import { decodeOutputMessage, encodeOutputMessage } from './output-message.js';

describe('StreamJob answers written and read by hand', () => {
  // Around each varint length boundary, and the size the worker sends.
  for (const size of [0, 1, 127, 128, 16_383, 16_384, 256 * 1024, 2_097_152]) {
    it(`${size} bytes: the same wire bytes as the generated encoder, read back unchanged`, () => {
      const data = Buffer.alloc(size, 'x');
      if (size > 0) data[size - 1] = 0x7f;
      const wire = encodeOutputMessage({ data });
      assert.deepEqual(wire, Buffer.from(StreamJobResponse.encode({ data }).finish()));
      assert.deepEqual(Buffer.from(decodeOutputMessage(wire).data), data);
      assert.deepEqual(Buffer.from(StreamJobResponse.decode(wire).data), data);
    });
  }

  it('hands any other shape to the generated decoder', () => {
    // data "ab", then an unknown field 2 (varint 5): not one field only.
    const wire = Buffer.from([0x0a, 0x02, 0x61, 0x62, 0x10, 0x05]);
    assert.deepEqual(Buffer.from(decodeOutputMessage(wire).data), Buffer.from('ab'));
    // An unknown field first.
    assert.deepEqual(Buffer.from(decodeOutputMessage(Buffer.from([0x10, 0x05, 0x0a, 0x01, 0x63])).data), Buffer.from('c'));
  });

  it('refuses a length running past the message as the generated decoder does', () => {
    assert.throws(() => decodeOutputMessage(Buffer.from([0x0a, 0x05, 0x61])));
  });
});
