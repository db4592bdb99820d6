// One retention round against a real SQLite store: it clears a backlog, however large, in that
// round, and keeps what it must.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { Retention } from './retention.js';
import { openStores } from './store/stores.js';

describe('Retention', () => {
  it('one round prunes every expired output, not a fixed number of batches of them', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'baton-retention-'));
    const stores = await openStores(`sqlite:${path.join(dir, 'baton.db')}`);
    try {
      // More than the 160 a round pruned when it stopped after 20 batches of 8.
      const expired = Array.from({ length: 1_000 }, (_, i) => `expired-${i}`);
      const now = Date.now();
      for (const id of [...expired, 'fresh']) {
        await stores.outputs.beginOutput(id, 1, now);
        await stores.outputs.appendOutput(id, 1, 0, Buffer.from(`output of ${id}\n`));
        await stores.outputs.completeOutput(id, 1, 10, false, id === 'fresh' ? now : now - 10 * 60_000);
      }
      const retention = new Retention(stores.jobs, stores.outputs, { outputRetentionMs: 60_000, outputBudgetBytes: 0, jobRetentionMs: 0 }, pino({ level: 'silent' }));
      await retention.round();
      const left = (await Promise.all(expired.map((id) => stores.outputs.getOutput(id, 1)))).filter((o) => o?.prunedAt === null);
      assert.equal(left.length, 0, `${left.length} expired outputs left after the round`);
      assert.equal((await stores.outputs.getOutput('fresh', 1))?.prunedAt, null, 'one younger than --output-retention stays');
    } finally {
      await stores.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
