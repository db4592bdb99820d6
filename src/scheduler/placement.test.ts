import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasLabels, place, type JobNeeds, type Placement, type WorkerSnapshot } from './placement.js';

function w(id: string, over: Partial<WorkerSnapshot> = {}): WorkerSnapshot {
  return { id, state: 'up', labels: {}, capacity: 4, running: 0, draining: false, ...over };
}
const gpu = { gpu: 'true' };

const table: { name: string; job: JobNeeds; workers: WorkerSnapshot[]; want: Placement }[] = [
  { name: 'no workers at all', job: { labels: {} }, workers: [], want: { reason: 'no worker is registered' } },
  { name: 'one idle worker takes it', job: { labels: {} }, workers: [w('w-1')], want: { workerId: 'w-1' } },
  { name: 'labels: only the worker carrying them', job: { labels: gpu }, workers: [w('w-1'), w('w-2', { labels: { gpu: 'true', zone: 'a' } })], want: { workerId: 'w-2' } },
  { name: 'labels: a different value does not match', job: { labels: gpu }, workers: [w('w-1', { labels: { gpu: 'false' } })], want: { reason: 'no worker has labels gpu=true' } },
  {
    name: 'labels: every one is needed',
    job: { labels: { gpu: 'true', zone: 'a' } },
    workers: [w('w-1', { labels: gpu })],
    want: { reason: 'no worker has labels gpu=true,zone=a' },
  },
  { name: 'capacity: a full worker is skipped', job: { labels: {} }, workers: [w('w-1', { capacity: 1, running: 1 }), w('w-2', { capacity: 1 })], want: { workerId: 'w-2' } },
  {
    name: 'capacity: all full',
    job: { labels: {} },
    workers: [w('w-1', { capacity: 1, running: 1 }), w('w-2', { capacity: 2, running: 3 })],
    want: { reason: 'all 2 matching workers are at capacity' },
  },
  {
    name: 'capacity: the only one full',
    job: { labels: gpu },
    workers: [w('w-1', { labels: gpu, capacity: 1, running: 1 }), w('w-2')],
    want: { reason: 'the only worker with labels gpu=true is at capacity (w-1)' },
  },
  { name: 'capacity 0 takes nothing', job: { labels: {} }, workers: [w('w-1', { capacity: 0 })], want: { reason: 'the only worker is at capacity (w-1)' } },
  { name: 'down workers are skipped', job: { labels: {} }, workers: [w('w-1', { state: 'down' }), w('w-2', { running: 3 })], want: { workerId: 'w-2' } },
  { name: 'unreachable workers are skipped', job: { labels: {} }, workers: [w('w-1', { state: 'unreachable' }), w('w-2', { running: 3 })], want: { workerId: 'w-2' } },
  {
    name: 'none up: one unreachable',
    job: { labels: {} },
    workers: [w('w-1', { state: 'unreachable' })],
    want: { reason: 'no worker is up (1 unreachable)' },
  },
  { name: 'draining workers are skipped', job: { labels: {} }, workers: [w('w-1', { draining: true }), w('w-2', { running: 3 })], want: { workerId: 'w-2' } },
  {
    name: 'none up',
    job: { labels: gpu },
    workers: [w('w-1', { labels: gpu, state: 'down' }), w('w-2', { labels: gpu, draining: true }), w('w-3', { labels: gpu, state: 'deregistered' })],
    want: { reason: 'no worker with labels gpu=true is up (2 down or deregistered, 1 draining)' },
  },
  {
    name: 'spread: least loaded relative to capacity',
    job: { labels: {} },
    workers: [w('w-1', { capacity: 2, running: 1 }), w('w-2', { capacity: 10, running: 3 })],
    want: { workerId: 'w-2' },
  },
  {
    name: 'spread: same ratio, fewer jobs first',
    job: { labels: {} },
    workers: [w('w-1', { capacity: 4, running: 2 }), w('w-2', { capacity: 2, running: 1 })],
    want: { workerId: 'w-2' },
  },
  { name: 'ties: lowest id', job: { labels: {} }, workers: [w('w-b'), w('w-a'), w('w-c')], want: { workerId: 'w-a' } },
  { name: 'pinned: only that worker, even when busier', job: { labels: {}, pinnedWorker: 'w-2' }, workers: [w('w-1'), w('w-2', { running: 3 })], want: { workerId: 'w-2' } },
  { name: 'pinned: down', job: { labels: {}, pinnedWorker: 'w-1' }, workers: [w('w-1', { state: 'down' }), w('w-2')], want: { reason: 'worker w-1 is down' } },
  { name: 'pinned: unknown', job: { labels: {}, pinnedWorker: 'w-9' }, workers: [w('w-1')], want: { reason: 'worker w-9 is not registered' } },
  { name: 'pinned: full', job: { labels: {}, pinnedWorker: 'w-1' }, workers: [w('w-1', { capacity: 1, running: 1 })], want: { reason: 'worker w-1 is at capacity (1/1 jobs)' } },
  { name: 'pinned: unreachable', job: { labels: {}, pinnedWorker: 'w-1' }, workers: [w('w-1', { state: 'unreachable' }), w('w-2')], want: { reason: 'worker w-1 is unreachable' } },
  { name: 'pinned: draining', job: { labels: {}, pinnedWorker: 'w-1' }, workers: [w('w-1', { draining: true })], want: { reason: 'worker w-1 is draining' } },
  { name: 'pinned: without the labels', job: { labels: gpu, pinnedWorker: 'w-1' }, workers: [w('w-1')], want: { reason: 'worker w-1 does not have labels gpu=true' } },
];

for (const c of table) {
  test(`placement: ${c.name}`, () => {
    assert.deepEqual(place(c.job, c.workers), c.want);
  });
}

/** A small seeded generator, so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('placement property: never a full, down, draining or unlabelled worker; never "no" when one fits; always the least loaded', () => {
  const states = ['up', 'up', 'up', 'unreachable', 'down', 'deregistered'] as const;
  for (let seed = 1; seed <= 2000; seed++) {
    const r = rng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
    const workers: WorkerSnapshot[] = Array.from({ length: Math.floor(r() * 6) }, (_, i) => {
      const labels: Record<string, string> = {};
      if (r() < 0.5) labels.gpu = pick(['true', 'false']);
      if (r() < 0.5) labels.zone = pick(['a', 'b']);
      const capacity = Math.floor(r() * 4);
      return { id: `w-${i}`, state: pick(states), labels, capacity, running: Math.floor(r() * (capacity + 2)), draining: r() < 0.2 };
    });
    const job: JobNeeds = { labels: r() < 0.5 ? { gpu: 'true' } : r() < 0.5 ? { zone: pick(['a', 'b']) } : {} };
    const fits = (x: WorkerSnapshot): boolean => x.state === 'up' && !x.draining && x.running < x.capacity && hasLabels(x, job.labels);
    const result = place(job, workers);
    const why = `seed ${seed}: ${JSON.stringify({ job, workers, result })}`;
    if ('workerId' in result) {
      const chosen = workers.find((x) => x.id === result.workerId)!;
      assert.ok(fits(chosen), why);
      const load = chosen.running / chosen.capacity;
      assert.ok(
        workers.filter(fits).every((x) => x.running / x.capacity >= load),
        why,
      );
    } else {
      assert.equal(workers.filter(fits).length, 0, why);
      assert.ok(result.reason.length > 0, why);
    }
  }
});
