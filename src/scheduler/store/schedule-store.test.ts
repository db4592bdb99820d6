import assert from 'node:assert/strict';
import { uuidv7 } from '../../common/ids.js';
import { conformance, type Case } from '../../../test/support/store-conformance.js';
import { ScheduleNameTaken, ScheduleStore, type ScheduleRecord } from './schedule-store.js';

function newSchedule(name = `nightly-${uuidv7()}`): ScheduleRecord {
  return {
    name,
    cron: '0 3 * * *',
    timezone: 'Europe/Berlin',
    job: { command: 'echo', args: ['hi'] },
    overlap: 'skip',
    catchupWindowMs: 60_000,
    paused: false,
    cursorAt: 1_000,
    bufferedFor: null,
    missed: 0,
    lastMissedAt: null,
    createdBy: 'ci',
    createdAt: 1_000,
    updatedAt: 1_000,
  };
}

const advance: Case = async ({ schedules }) => {
  const s = newSchedule();
  await schedules.create(s);
  await schedules.advance(s.name, 5_000, 2, 4_000);
  await schedules.advance(s.name, 3_000, 1, null);
  const advanced = await schedules.get(s.name);
  assert.deepEqual({ cursorAt: advanced?.cursorAt, missed: advanced?.missed, lastMissedAt: advanced?.lastMissedAt }, { cursorAt: 5_000, missed: 3, lastMissedAt: 4_000 });
};

conformance<ScheduleStore>('ScheduleStore', ScheduleStore, {
  create: {
    'stored as given; a taken name is ScheduleNameTaken': async ({ schedules }) => {
      const s = newSchedule();
      await schedules.create(s);
      assert.deepEqual(await schedules.get(s.name), s);
      await assert.rejects(schedules.create(s), ScheduleNameTaken);
    },
  },
  get: {
    'undefined for no such schedule': async ({ schedules }) => {
      assert.equal(await schedules.get(`none-${uuidv7()}`), undefined);
    },
  },
  list: {
    'every schedule': async ({ schedules }) => {
      const s = newSchedule();
      await schedules.create(s);
      assert.ok((await schedules.list()).some((x) => x.name === s.name));
    },
  },
  update: {
    'changes the fields given and updated_at; undefined for no such schedule': async ({ schedules }) => {
      const s = newSchedule();
      await schedules.create(s);
      const changed = await schedules.update(s.name, { paused: true, overlap: 'buffer_one' }, 2_000);
      assert.deepEqual(
        { paused: changed?.paused, overlap: changed?.overlap, updatedAt: changed?.updatedAt, cron: changed?.cron },
        { paused: true, overlap: 'buffer_one', updatedAt: 2_000, cron: s.cron },
      );
      assert.equal(await schedules.update(`none-${uuidv7()}`, { paused: false }, 3_000), undefined);
    },
  },
  delete: {
    'true once, then false': async ({ schedules }) => {
      const s = newSchedule();
      await schedules.create(s);
      assert.equal(await schedules.delete(s.name), true);
      assert.equal(await schedules.get(s.name), undefined);
      assert.equal(await schedules.delete(s.name), false);
    },
  },
  advance: { 'the cursor never moves back; missed ticks add up': advance },
  setBuffered: {
    'sets and clears the tick waiting under buffer_one': async ({ schedules }) => {
      const s = newSchedule();
      await schedules.create(s);
      await schedules.setBuffered(s.name, 4_500);
      assert.equal((await schedules.get(s.name))?.bufferedFor, 4_500);
      await schedules.setBuffered(s.name, null);
      assert.equal((await schedules.get(s.name))?.bufferedFor, null);
    },
  },
});
