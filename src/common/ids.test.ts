import assert from 'node:assert/strict';
import { test } from 'node:test';
import { uuidv7 } from './ids.js';

const SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('uuidv7: the RFC 9562 layout, the time in its first 48 bits', () => {
  for (const ms of [1, 0x1234_5678_9abc, Date.UTC(2026, 11, 6), 2 ** 47]) {
    const id = uuidv7(ms);
    assert.match(id, SHAPE, id);
    assert.ok(Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16) >= ms, id);
  }
});

test('uuidv7: ids sort in the order made, within a millisecond and past the 4,096th of one', () => {
  const now = Date.UTC(2030, 0, 1);
  const ids = Array.from({ length: 10_000 }, () => uuidv7(now));
  ids.push(uuidv7(now + 1), uuidv7(now - 5));
  assert.deepEqual([...ids].sort(), ids);
  assert.equal(new Set(ids).size, ids.length);
  for (const id of ids) assert.match(id, SHAPE, id);
});

test('uuidv7: the random part differs from id to id', () => {
  const tails = new Set(Array.from({ length: 2_000 }, () => uuidv7().slice(19)));
  assert.equal(tails.size, 2_000);
});
