// Concurrency keys and dependencies with two schedulers over one PostgreSQL database: jobs go
// in through both APIs, the leader alone decides, and the jobs' own marks are the check.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { marksFile, mostAtOnce, spans } from './support/marks.js';
import { freshDatabase } from './support/postgres.js';
import { startScheduler, startWorker, jobsDir, tempDir, getJson, eventually, waitForFinal } from './harness.js';

type Json = Record<string, unknown>;

describe('flow control with two schedulers on PostgreSQL', () => {
  let storeUrl = '';
  let drop = async (): Promise<void> => {};
  before(async () => {
    ({ url: storeUrl, drop } = await freshDatabase('baton_flow_replicas'));
  });
  after(() => drop());

  it('20 jobs of one key with limit 2, sent to both schedulers, never run more than 2 at once; a chain sent to the follower runs in order', async () => {
    const dataDir = tempDir('baton-flow-replicas-');
    const args = ['--store', storeUrl];
    const a = await startScheduler({ dataDir, args });
    const b = await startScheduler({ dataDir, args });
    const marks = marksFile();
    const jobs = jobsDir({ 'mark.sh': '#!/bin/bash\necho "start $(date +%s%N) $NAME" >> "$MARKS"\nsleep 0.3\necho "end $(date +%s%N) $NAME" >> "$MARKS"\n' });
    await startWorker({ grpc: `${a.grpc},${b.grpc}`, certsDir: a.certsDir }, { jobsDir: jobs });
    await startWorker({ grpc: `${b.grpc},${a.grpc}`, certsDir: a.certsDir }, { jobsDir: jobs });
    for (const s of [a, b]) {
      await eventually(async () => {
        const { json } = await getJson(`${s.api}/v1/workers`);
        return (json.workers as Json[]).filter((w) => w.state === 'up').length === 2 ? true : undefined;
      }, 'both workers up on each scheduler');
    }
    const post = async (api: string, route: string, body: unknown): Promise<Json> => {
      const res = await fetch(`${api}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const json = (await res.json()) as Json;
      assert.equal(res.status, 201, JSON.stringify(json));
      return json;
    };
    const keyed = (i: number): Json => ({ command: 'bash', path: 'mark.sh', env: { MARKS: marks, NAME: `k${i}` }, concurrency: { key: 'deploy-prod', limit: 2 } });
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => post(i % 2 === 0 ? a.api : b.api, '/v1/jobs', keyed(i)).then((j) => String(j.id))));
    const chain = (await post(b.api, '/v1/jobs/batch', {
      jobs: ['c1', 'c2', 'c3'].map((name, i) => ({ command: 'bash', path: 'mark.sh', env: { MARKS: marks, NAME: name }, ...(i > 0 && { after: [`#${i - 1}`] }) })),
    })) as { jobs: Json[] };
    for (const id of [...ids, ...chain.jobs.map((j) => String(j.id))]) assert.equal((await waitForFinal(b.api, id)).state, 'succeeded');

    const text = readFileSync(marks, 'utf8');
    const keyLines = text
      .trim()
      .split('\n')
      .filter((l) => / k\d+$/.test(l));
    assert.equal(keyLines.length, 40);
    assert.ok(mostAtOnce(keyLines.join('\n')) <= 2, `${mostAtOnce(keyLines.join('\n'))} jobs of the key ran at once:\n${text}`);
    const at = spans(text);
    assert.ok(at.get('c1')!.end < at.get('c2')!.start && at.get('c2')!.end < at.get('c3')!.start, 'the chain ran in order');
  });
});
