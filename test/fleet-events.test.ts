// Watching the fleet against real processes: the SSE event stream (order, resume with
// Last-Event-ID, filters), GET /v1/jobs/:id/wait, and draining a worker.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startScheduler, startWorker, jobsDir, getJson, eventually, waitForFinal, type SchedulerHandle, type WorkerHandle } from './harness.js';
import { SseReader, type SseEvent } from './support/sse.js';

type Json = Record<string, unknown>;

const scripts = {
  'ok.sh': '#!/bin/bash\necho ok\n',
  'long.sh': '#!/bin/bash\nsleep 600\n',
};

const FINAL = new Set(['succeeded', 'failed', 'stopped', 'timed_out', 'lost']);
const RANK: Record<string, number> = { queued: 0, dispatched: 1, running: 2 };
const rank = (state: unknown): number => RANK[String(state)] ?? 3;

async function submit(scheduler: SchedulerHandle, body: Json): Promise<Json> {
  const res = await fetch(`${scheduler.api}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await res.json()) as Json;
  assert.equal(res.status, 201, JSON.stringify(json));
  return json;
}

async function send(url: string, method: string): Promise<{ status: number; json: Json }> {
  const res = await fetch(url, { method });
  return { status: res.status, json: (await res.json()) as Json };
}

const jobEventsOf = (events: readonly SseEvent[], id: unknown): SseEvent[] => events.filter((e) => e.event === 'job' && e.data.id === id);

describe('events, wait and drain', () => {
  let scheduler: SchedulerHandle;
  let worker: WorkerHandle;
  const streams: SseReader[] = [];
  const open = async (query = '', headers: Record<string, string> = {}): Promise<SseReader> => {
    const s = await SseReader.open(`${scheduler.api}/v1/events${query}`, headers);
    streams.push(s);
    return s;
  };

  before(async () => {
    scheduler = await startScheduler();
    worker = await startWorker(scheduler, { jobsDir: jobsDir(scripts), args: ['--capacity', '2'] });
  });
  after(() => {
    for (const s of streams) s.close();
  });

  it("a job's transitions arrive in order, with increasing ids, as the stored job view", async () => {
    const stream = await open();
    assert.equal(stream.status, 200);
    assert.match(stream.headers.get('content-type') ?? '', /^text\/event-stream/);
    const job = await submit(scheduler, { command: 'bash', path: 'ok.sh' });
    const last = await stream.next((e) => e.event === 'job' && e.data.id === job.id && FINAL.has(String(e.data.state)));
    assert.equal(last.data.state, 'succeeded');
    const mine = jobEventsOf(stream.received, job.id);
    // Nothing waits and the worker has room: the job is placed before it is stored, so its first event is dispatched.
    assert.equal(mine[0]!.data.state, 'dispatched');
    assert.equal(mine[0]!.data.worker_id, worker.id);
    // Every state is announced, running too, even when the worker's report of it was
    // superseded by the job's end before the scheduler wrote it.
    assert.ok(
      mine.some((e) => e.data.state === 'running'),
      JSON.stringify(mine.map((e) => e.data.state)),
    );
    for (let i = 1; i < mine.length; i++) {
      assert.ok(mine[i]!.id > mine[i - 1]!.id, 'ids increase');
      assert.ok(rank(mine[i]!.data.state) >= rank(mine[i - 1]!.data.state), `states never go back: ${mine.map((e) => e.data.state).join(' → ')}`);
    }
    // The last event is the job as GET /v1/jobs/:id shows it.
    const stored = (await getJson(`${scheduler.api}/v1/jobs/${String(job.id)}`)).json;
    for (const key of ['id', 'state', 'worker_id', 'exit_code', 'finished_at', 'timeout', 'parent_id', 'children', 'submitted_by'])
      assert.deepEqual(last.data[key], stored[key], key);
  });

  it('Last-Event-ID replays what a reader missed, then goes on live', async () => {
    const live = await open('?types=job');
    const job = await submit(scheduler, { command: 'bash', path: 'ok.sh' });
    await live.next((e) => e.data.id === job.id && e.data.state === 'succeeded');
    const seen = jobEventsOf(live.received, job.id);
    const first = seen[0]!;
    // Reconnect as a reader that only got the first event, by header and by query parameter.
    for (const [query, headers] of [
      ['', { 'last-event-id': String(first.id) }],
      [`?last_event_id=${first.id}`, {}],
    ] as const) {
      const resumed = await open(query, headers);
      await resumed.next((e) => e.data.id === job.id && e.data.state === 'succeeded');
      assert.deepEqual(
        jobEventsOf(resumed.received, job.id).map((e) => [e.id, e.data.state]),
        seen.slice(1).map((e) => [e.id, e.data.state]),
      );
      assert.ok(resumed.received.every((e) => e.id > first.id));
      // …and then live: a later job arrives on the same stream.
      const next = await submit(scheduler, { command: 'bash', path: 'ok.sh' });
      await resumed.next((e) => e.data.id === next.id && e.data.state === 'succeeded');
      resumed.close();
    }
  });

  it('?job_id streams only that job; a bad Last-Event-ID or type is a 400', async () => {
    const a = await submit(scheduler, { command: 'bash', path: 'long.sh' });
    const b = await submit(scheduler, { command: 'bash', path: 'ok.sh' });
    const only = await open(`?job_id=${String(b.id)}&last_event_id=0`);
    await only.next((e) => e.data.state === 'succeeded');
    assert.ok(only.received.length >= 2);
    assert.ok(
      only.received.every((e) => e.event === 'job' && e.data.id === b.id),
      JSON.stringify(only.received.map((e) => e.data.id)),
    );
    assert.equal((await send(`${scheduler.api}/v1/jobs/${String(a.id)}/stop`, 'POST')).status, 200);
    const bad = await fetch(`${scheduler.api}/v1/events`, { headers: { 'last-event-id': 'abc' } });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as Json).error as string, /Last-Event-ID/);
    const badType = await fetch(`${scheduler.api}/v1/events?types=jobs`);
    assert.equal(badType.status, 400);
    assert.match(((await badType.json()) as Json).error as string, /types/);
  });

  it('wait answers 200 with a final job, 202 when the timeout passes first, 404 for an unknown job', async () => {
    const ok = await submit(scheduler, { command: 'bash', path: 'ok.sh' });
    const done = await send(`${scheduler.api}/v1/jobs/${String(ok.id)}/wait?timeout=60`, 'GET');
    assert.equal(done.status, 200, JSON.stringify(done.json));
    assert.equal(done.json.state, 'succeeded');
    assert.equal(done.json.exit_code, 0);
    // Already final: at once, the same answer.
    assert.equal((await send(`${scheduler.api}/v1/jobs/${String(ok.id)}/wait`, 'GET')).status, 200);

    const long = await submit(scheduler, { command: 'bash', path: 'long.sh' });
    const pending = await send(`${scheduler.api}/v1/jobs/${String(long.id)}/wait?timeout=0.5`, 'GET');
    assert.equal(pending.status, 202, JSON.stringify(pending.json));
    assert.ok(!FINAL.has(String(pending.json.state)));
    // A stop while someone waits wakes the waiter with the final job.
    const waiting = send(`${scheduler.api}/v1/jobs/${String(long.id)}/wait?timeout=120`, 'GET');
    assert.equal((await send(`${scheduler.api}/v1/jobs/${String(long.id)}/stop`, 'POST')).status, 200);
    const woken = await waiting;
    assert.equal(woken.status, 200);
    assert.equal(woken.json.state, 'stopped');

    assert.equal((await send(`${scheduler.api}/v1/jobs/no-such-job/wait?timeout=1`, 'GET')).status, 404);
    assert.equal((await send(`${scheduler.api}/v1/jobs/${String(ok.id)}/wait?timeout=301`, 'GET')).status, 400);
  });

  it('a drained worker gets no placements; undraining lets the queued job start', async () => {
    const events = await open('?types=worker');
    const drained = await send(`${scheduler.api}/v1/workers/${worker.id}/drain`, 'POST');
    assert.equal(drained.status, 200, JSON.stringify(drained.json));
    assert.equal(drained.json.draining, true);
    await events.next((e) => e.data.id === worker.id && e.data.draining === true);
    assert.equal((await getJson(`${scheduler.api}/v1/workers/${worker.id}`)).json.draining, true);

    const job = await submit(scheduler, { command: 'bash', path: 'ok.sh' });
    assert.equal(job.state, 'queued');
    const waiting = await eventually(async () => {
      const j = (await getJson(`${scheduler.api}/v1/jobs/${String(job.id)}`)).json;
      return j.reason ? j : undefined;
    }, 'the reason to be recorded');
    assert.equal(waiting.state, 'queued');
    assert.match(String(waiting.reason), /draining/);

    const undrained = await send(`${scheduler.api}/v1/workers/${worker.id}/drain`, 'DELETE');
    assert.equal(undrained.status, 200);
    assert.equal(undrained.json.draining, false);
    const finished = await waitForFinal(scheduler.api, String(job.id));
    assert.equal(finished.state, 'succeeded');
    assert.equal(finished.worker_id, worker.id);

    assert.equal((await send(`${scheduler.api}/v1/workers/nobody/drain`, 'POST')).status, 404);
    assert.equal((await send(`${scheduler.api}/v1/workers/nobody/drain`, 'DELETE')).status, 404);
  });
});
