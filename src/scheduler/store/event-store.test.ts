import assert from 'node:assert/strict';
import { uuidv7 } from '../../common/ids.js';
import { conformance } from '../../../test/support/store-conformance.js';
import type { EventRecord, EventStore } from './event-store.js';
import { SqlEventStore } from './sql-event-store.js';

function event(entityId: string, data: string, kind = 'job', createdAt = 1): Omit<EventRecord, 'id'> {
  return { kind, entityId, data, createdAt };
}

conformance<EventStore>('EventStore', SqlEventStore, {
  appendEvents: {
    'increasing ids in the order given, stored as given; nothing for none': async ({ events }) => {
      const entity = `j-${uuidv7()}`;
      const appended = [event(entity, '{"n":1}'), event('w-1', '{"n":2}', 'worker', 2), event(entity, '{"n":3}', 'job', 3)];
      const ids = await events.appendEvents(appended);
      assert.equal(ids.length, 3);
      assert.ok(ids[0]! < ids[1]! && ids[1]! < ids[2]!);
      assert.deepEqual(
        await events.eventsAfter(ids[0]! - 1, 3),
        appended.map((e, i) => ({ ...e, id: ids[i] })),
      );
      assert.deepEqual(await events.appendEvents([]), []);
    },
    'appends asked for together keep their own order and do not interleave': async ({ events }) => {
      const entity = `j-${uuidv7()}`;
      const batches = await Promise.all([1, 2, 3].map((b) => events.appendEvents([event(entity, `${b}a`), event(entity, `${b}b`)])));
      for (const [a, b] of batches) assert.equal(b, a! + 1);
    },
  },
  lastEventId: {
    "the newest event's id": async ({ events }) => {
      const ids = await events.appendEvents([event(`j-${uuidv7()}`, '1'), event(`j-${uuidv7()}`, '2')]);
      assert.equal(await events.lastEventId(), ids[1]);
    },
  },
  eventsAfter: {
    'after an id, oldest first, at most limit, by entity and kinds': async ({ events }) => {
      const entity = `j-${uuidv7()}`;
      const ids = await events.appendEvents([event(entity, '{"n":1}'), event('w-1', '{"n":2}', 'worker'), event(entity, '{"n":3}')]);
      assert.deepEqual((await events.eventsAfter(ids[0]!, 10)).map((e) => e.id).slice(0, 2), [ids[1], ids[2]]);
      assert.deepEqual(
        (await events.eventsAfter(ids[0]! - 1, 2)).map((e) => e.id),
        [ids[0], ids[1]],
      );
      assert.deepEqual(
        (await events.eventsAfter(0, 10, { entityId: entity })).map((e) => e.data),
        ['{"n":1}', '{"n":3}'],
      );
      assert.deepEqual(
        (await events.eventsAfter(ids[0]! - 1, 10, { kinds: ['worker'] })).map((e) => e.id),
        [ids[1]],
      );
      assert.deepEqual(await events.eventsAfter(ids[2]!, 10), []);
    },
    'leaves out the runs of ids the caller has': async ({ events }) => {
      const ids = await events.appendEvents(Array.from({ length: 6 }, (_, i) => event(`j-${uuidv7()}`, String(i))));
      const after = (except: [number, number][]) => events.eventsAfter(ids[0]! - 1, 10, { except }).then((found) => found.map((e) => e.data));
      assert.deepEqual(await after([[ids[1]!, ids[2]!]]), ['0', '3', '4', '5']);
      assert.deepEqual(
        await after([
          [ids[0]!, ids[0]!],
          [ids[3]!, ids[5]!],
        ]),
        ['1', '2'],
      );
      assert.deepEqual(await after([]), ['0', '1', '2', '3', '4', '5']);
    },
  },
  pruneEvents: {
    'deletes the oldest beyond the newest `keep`, at most `batch` a call': async ({ events }) => {
      const entity = `j-${uuidv7()}`;
      const ids = await events.appendEvents(Array.from({ length: 10 }, (_, i) => event(entity, String(i))));
      assert.equal(await events.pruneEvents(await events.lastEventId(), 3), 0, 'nothing beyond what is kept');
      // Keep the newest 4; at most 3 go per call.
      assert.equal(await events.pruneEvents(4, 3), 3);
      while ((await events.pruneEvents(4, 3)) > 0);
      assert.deepEqual(
        (await events.eventsAfter(0, 100)).map((e) => e.id),
        ids.slice(-4),
      );
    },
  },
});
