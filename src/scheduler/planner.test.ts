import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { hasLabels, place, type WorkerSnapshot } from './placement.js';
import { ON_LIMIT, type OnLimit } from './concurrency.js';
import { planPass, queueOrder, type Plan, type QueuedJob } from './planner.js';

const NOW = Date.UTC(2026, 0, 1);

function w(id: string, over: Partial<WorkerSnapshot> = {}): WorkerSnapshot {
  return { id, state: 'up', labels: {}, capacity: 4, running: 0, draining: false, ...over };
}
function j(id: string, over: Partial<QueuedJob> = {}): QueuedJob {
  return { id, priority: 0, labels: {}, pinnedWorker: '', nextAttemptAt: null, ...over };
}
const gpu = { gpu: 'true' };

/** The plan as [job id, worker id] starts and [job id, reason] waits: short to write in a table. */
interface Want {
  starts: [string, string][];
  waits: [string, string][];
  nextRetryAt?: number;
}

const table: { name: string; queue: QueuedJob[]; workers: WorkerSnapshot[]; want: Want }[] = [
  { name: 'an empty queue plans nothing', queue: [], workers: [w('w-1')], want: { starts: [], waits: [] } },
  {
    name: 'no workers: every job says so',
    queue: [j('a'), j('b')],
    workers: [],
    want: {
      starts: [],
      waits: [
        ['a', 'no worker is registered'],
        ['b', 'no worker is registered'],
      ],
    },
  },
  {
    name: 'capacity holds across the pass, slots already used counted',
    queue: [j('a'), j('b'), j('c')],
    workers: [w('w-1', { capacity: 3, running: 1 })],
    want: {
      starts: [
        ['a', 'w-1'],
        ['b', 'w-1'],
      ],
      waits: [['c', 'the only worker is at capacity (w-1)']],
    },
  },
  {
    name: 'starts spread: least loaded first, as the pass fills them',
    queue: [j('a'), j('b'), j('c'), j('d')],
    workers: [w('w-1', { capacity: 2 }), w('w-2', { capacity: 2 })],
    want: {
      starts: [
        ['a', 'w-1'],
        ['b', 'w-2'],
        ['c', 'w-1'],
        ['d', 'w-2'],
      ],
      waits: [],
    },
  },
  {
    name: 'priority first, whatever the order given',
    queue: [j('a', { priority: 0 }), j('b', { priority: 5 })],
    workers: [w('w-1', { capacity: 1 })],
    want: { starts: [['b', 'w-1']], waits: [['a', 'the only worker is at capacity (w-1)']] },
  },
  {
    name: 'equal priority: arrival (the lower id) first',
    queue: [j('b'), j('a'), j('c', { priority: -1 })],
    workers: [w('w-1', { capacity: 1 })],
    want: {
      starts: [['a', 'w-1']],
      waits: [
        ['b', 'the only worker is at capacity (w-1)'],
        ['c', 'the only worker is at capacity (w-1)'],
      ],
    },
  },
  {
    name: 'a job that fits nowhere does not hold back a later one that fits',
    queue: [j('a', { priority: 9, labels: gpu }), j('b')],
    workers: [w('w-1')],
    want: { starts: [['b', 'w-1']], waits: [['a', 'no worker has labels gpu=true']] },
  },
  {
    name: 'labels: the one worker carrying them fills, the others are not used for it',
    queue: [j('a', { labels: gpu }), j('b', { labels: gpu }), j('c')],
    workers: [w('w-1'), w('w-g', { labels: gpu, capacity: 1 })],
    want: {
      starts: [
        ['a', 'w-g'],
        ['c', 'w-1'],
      ],
      waits: [['b', 'the only worker with labels gpu=true is at capacity (w-g)']],
    },
  },
  {
    name: 'pinned: waits for its worker even with room elsewhere; the next job takes the room',
    queue: [j('a', { pinnedWorker: 'w-1' }), j('b')],
    workers: [w('w-1', { capacity: 1, running: 1 }), w('w-2', { capacity: 1 })],
    want: { starts: [['b', 'w-2']], waits: [['a', 'worker w-1 is at capacity (1/1 jobs)']] },
  },
  {
    name: 'pinned to a worker not registered',
    queue: [j('a', { pinnedWorker: 'w-9' })],
    workers: [w('w-1')],
    want: { starts: [], waits: [['a', 'worker w-9 is not registered']] },
  },
  {
    name: 'draining and down workers get no starts',
    queue: [j('a'), j('b', { pinnedWorker: 'w-1' }), j('c', { pinnedWorker: 'w-2' })],
    workers: [w('w-1', { draining: true }), w('w-2', { state: 'down' })],
    want: {
      starts: [],
      waits: [
        ['a', 'no worker is up (1 down or deregistered, 1 draining)'],
        ['b', 'worker w-1 is draining'],
        ['c', 'worker w-2 is down'],
      ],
    },
  },
  {
    name: 'a retry not yet due waits with its time, and does not hold its slot; one due now starts',
    queue: [j('a', { priority: 5, nextAttemptAt: NOW + 2_000 }), j('b', { nextAttemptAt: NOW + 1_000 }), j('c', { nextAttemptAt: NOW })],
    workers: [w('w-1', { capacity: 1 })],
    want: {
      starts: [['c', 'w-1']],
      waits: [
        ['a', 'next attempt at 2026-01-01T00:00:02.000Z'],
        ['b', 'next attempt at 2026-01-01T00:00:01.000Z'],
      ],
      nextRetryAt: NOW + 1_000,
    },
  },
];

for (const c of table) {
  test(`planner: ${c.name}`, () => {
    const plan = planPass(c.queue, c.workers, NOW);
    assert.deepEqual(
      {
        starts: plan.starts.map((s) => [s.job.id, s.workerId]),
        waits: plan.waits.map((x) => [x.job.id, x.reason]),
        ...(plan.nextRetryAt !== undefined && { nextRetryAt: plan.nextRetryAt }),
      },
      c.want,
    );
  });
}

test('planner: the snapshot given is left as it was', () => {
  const workers = [w('w-1', { capacity: 2 })];
  planPass([j('a'), j('b')], workers, NOW);
  assert.deepEqual(workers, [w('w-1', { capacity: 2 })]);
});

test('planner: the same jobs come back, not copies', () => {
  const a = j('a');
  const b = j('b', { labels: gpu });
  const plan = planPass([a, b], [w('w-1')], NOW);
  assert.equal(plan.starts[0]!.job, a);
  assert.equal(plan.waits[0]!.job, b);
});

// Property tests: random queues over random worker snapshots.

const LABELS = fc.record({ gpu: fc.constantFrom('true', 'false'), zone: fc.constantFrom('a', 'b') }, { requiredKeys: [] });

const workersArb = fc.array(
  fc.record({
    state: fc.constantFrom<WorkerSnapshot['state']>('up', 'up', 'up', 'unreachable', 'down', 'deregistered'),
    labels: LABELS,
    capacity: fc.integer({ min: 0, max: 3 }),
    running: fc.integer({ min: 0, max: 4 }),
    draining: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
  }),
  { maxLength: 5 },
);

/** Ids in arrival order; the queue itself comes shuffled. Pins name w-0…w-5, one more than ever registered. */
const queueArb = fc
  .array(
    fc.record({
      priority: fc.integer({ min: 0, max: 3 }),
      labels: fc.oneof(fc.constant({}), LABELS),
      pinnedWorker: fc.oneof({ weight: 4, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 5 }).map((i) => `w-${i}`) }),
      nextAttemptAt: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.integer({ min: -5_000, max: 5_000 }).map((d) => NOW + d) }),
    }),
    { maxLength: 30 },
  )
  .map((jobs) => jobs.map((job, i): QueuedJob => ({ id: `j-${String(i).padStart(3, '0')}`, ...job })))
  .chain((jobs) => fc.shuffledSubarray(jobs, { minLength: jobs.length }));

const scenario = fc.record({
  queue: queueArb,
  workers: workersArb.map((ws) => ws.map((x, i): WorkerSnapshot => ({ id: `w-${i}`, ...x }))),
});

const due = (job: QueuedJob): boolean => job.nextAttemptAt == null || job.nextAttemptAt <= NOW;
/** Could `worker` run `job` at all, room aside. */
const eligible = (job: QueuedJob, worker: WorkerSnapshot): boolean =>
  worker.state === 'up' && !worker.draining && hasLabels(worker, job.labels) && (job.pinnedWorker === '' || job.pinnedWorker === worker.id);

function property(name: string, check: (queue: QueuedJob[], workers: WorkerSnapshot[]) => void): void {
  test(`planner property: ${name}`, () => {
    fc.assert(
      fc.property(scenario, ({ queue, workers }) => check(queue, workers)),
      { numRuns: 1_000 },
    );
  });
}

/** Jobs started on each worker by the plan. */
function startsOn(plan: ReturnType<typeof planPass>): Map<string, number> {
  const n = new Map<string, number>();
  for (const s of plan.starts) n.set(s.workerId, (n.get(s.workerId) ?? 0) + 1);
  return n;
}

property('never over a worker’s capacity across the pass, slots already used counted', (queue, workers) => {
  const plan = planPass(queue, workers, NOW);
  for (const [id, n] of startsOn(plan)) {
    const worker = workers.find((x) => x.id === id)!;
    assert.ok(worker.running + n <= worker.capacity, `${id}: ${worker.running} running + ${n} started > ${worker.capacity}`);
  }
});

property('a start is on a worker that is up, not draining, has the labels and is the pinned one; and the job is due', (queue, workers) => {
  for (const { job, workerId } of planPass(queue, workers, NOW).starts) {
    const worker = workers.find((x) => x.id === workerId);
    assert.ok(worker && eligible(job, worker), `${job.id} on ${workerId}`);
    assert.ok(due(job), `${job.id} is not due`);
  }
});

property('every queued job is started or waits with a reason, once', (queue, workers) => {
  const plan = planPass(queue, workers, NOW);
  const ids = [...plan.starts, ...plan.waits].map((x) => x.job.id).sort();
  assert.deepEqual(ids, queue.map((x) => x.id).sort());
  for (const wait of plan.waits) assert.ok(wait.reason.length > 0, wait.job.id);
});

property('a retry not yet due waits with its time, and the earliest is reported', (queue, workers) => {
  const plan = planPass(queue, workers, NOW);
  const notDue = queue.filter((x) => !due(x));
  for (const job of notDue) {
    const wait = plan.waits.find((x) => x.job === job);
    assert.ok(wait, job.id);
    assert.equal(wait.retryAt, job.nextAttemptAt, job.id);
    assert.match(wait.reason, new RegExp(new Date(job.nextAttemptAt!).toISOString()));
  }
  assert.equal(plan.nextRetryAt, notDue.length === 0 ? undefined : Math.min(...notDue.map((x) => x.nextAttemptAt!)));
  for (const wait of plan.waits) if (due(wait.job)) assert.equal(wait.retryAt, undefined, wait.job.id);
});

property('starts and waits in priority, then arrival order', (queue, workers) => {
  const plan = planPass(queue, workers, NOW);
  for (const list of [plan.starts, plan.waits]) {
    for (let i = 1; i < list.length; i++) assert.ok(queueOrder(list[i - 1]!.job, list[i]!.job) < 0, `${list[i - 1]!.job.id} before ${list[i]!.job.id}`);
  }
});

property('a job never starts on a worker where an earlier job (priority, then arrival) that could run there waits', (queue, workers) => {
  const plan = planPass(queue, workers, NOW);
  for (const { job: later, workerId } of plan.starts) {
    const worker = workers.find((x) => x.id === workerId)!;
    const skipped = plan.waits.find((x) => due(x.job) && queueOrder(x.job, later) < 0 && eligible(x.job, worker));
    assert.equal(skipped, undefined, `${later.id} started on ${workerId} while ${skipped?.job.id} waits`);
  }
});

property('no job waits for room while a worker that could run it still has some', (queue, workers) => {
  const plan = planPass(queue, workers, NOW);
  const used = startsOn(plan);
  for (const { job } of plan.waits) {
    if (!due(job)) continue;
    const free = workers.find((x) => eligible(job, x) && x.running + (used.get(x.id) ?? 0) < x.capacity);
    assert.equal(free, undefined, `${job.id} waits while ${free?.id} has room`);
  }
});

property('the same plan whatever order the queue is given in, and each answer as placement alone gives it', (queue, workers) => {
  const plan = planPass(queue, workers, NOW);
  assert.deepEqual(planPass([...queue].reverse(), workers, NOW), plan);
  // Replayed job by job: the planner's reuse of an earlier refusal never changes an answer.
  const room = workers.map((x) => ({ ...x }));
  const starts = new Map(plan.starts.map((s) => [s.job.id, s.workerId]));
  const reasons = new Map(plan.waits.map((x) => [x.job.id, x.reason]));
  for (const job of [...queue].sort(queueOrder)) {
    if (!due(job)) continue;
    const decision = place({ labels: job.labels, ...(job.pinnedWorker !== '' && { pinnedWorker: job.pinnedWorker }) }, room);
    if ('reason' in decision) {
      assert.equal(reasons.get(job.id), decision.reason, job.id);
    } else {
      assert.equal(starts.get(job.id), decision.workerId, job.id);
      room.find((x) => x.id === decision.workerId)!.running++;
    }
  }
});

// Concurrency keys.

const key = (k: string, limit: number, onLimit: OnLimit = 'queue'): QueuedJob['concurrency'] => ({ key: k, limit, onLimit });

const keyTable: {
  name: string;
  queue: QueuedJob[];
  active?: [string, string[]][];
  want: { starts: string[]; waits: [string, string][]; skips?: [string, string][]; cancels?: [string, string[]][] };
}[] = [
  {
    name: 'a key at its limit holds its jobs back, counting those already running; other keys and jobs without one go on',
    queue: [j('a', { concurrency: key('deploy-prod', 1) }), j('b', { concurrency: key('db', 2) }), j('c', { concurrency: key('db', 2) }), j('d')],
    active: [['deploy-prod', ['0193-x']]],
    want: {
      starts: ['b', 'c', 'd'],
      waits: [['a', 'concurrency key deploy-prod is at its limit (1 running: 0193-x)']],
    },
  },
  {
    name: 'the pass’s own starts count: priority, then arrival, per key',
    queue: [j('a', { concurrency: key('k', 2) }), j('b', { concurrency: key('k', 2), priority: 1 }), j('c', { concurrency: key('k', 2) })],
    want: { starts: ['b', 'a'], waits: [['c', 'concurrency key k is at its limit (2 running: b, a)']] },
  },
  {
    name: 'different limits: each job’s own limit admits it, and no job overtakes an earlier one its key holds back',
    queue: [j('a', { concurrency: key('k', 1) }), j('b', { concurrency: key('k', 1) }), j('c', { concurrency: key('k', 5) })],
    want: {
      starts: ['a'],
      waits: [
        ['b', 'concurrency key k is at its limit (1 running: a)'],
        ['c', 'concurrency key k: waiting behind b, an earlier job of the key'],
      ],
    },
  },
  {
    name: 'a higher limit lets a job start beside running ones that a lower limit would refuse',
    queue: [j('a', { concurrency: key('k', 3) })],
    active: [['k', ['r1', 'r2']]],
    want: { starts: ['a'], waits: [] },
  },
  {
    name: 'on_limit skip: the job leaves the queue with the reason and holds nobody back',
    queue: [j('a', { concurrency: key('k', 1, 'skip') }), j('b', { concurrency: key('k', 2) })],
    active: [['k', ['r1']]],
    want: { starts: ['b'], waits: [], skips: [['a', 'concurrency key k is at its limit (1 running: r1)']] },
  },
  {
    name: 'on_limit cancel_in_progress: the key’s running jobs are to be stopped, and the job waits for them',
    queue: [j('a', { concurrency: key('k', 1, 'cancel_in_progress') })],
    active: [['k', ['r1']]],
    want: {
      starts: [],
      waits: [['a', 'concurrency key k is at its limit (1 running: r1); stopping them (on_limit cancel_in_progress)']],
      cancels: [['a', ['r1']]],
    },
  },
  {
    name: 'a reason names three of the running jobs at most',
    queue: [j('a', { concurrency: key('k', 4) })],
    active: [['k', ['r1', 'r2', 'r3', 'r4']]],
    want: { starts: [], waits: [['a', 'concurrency key k is at its limit (4 running: r1, r2, r3, …)']] },
  },
];

test('planner, concurrency: an unreachable worker takes no job, and a job that cannot be placed takes none of its key’s room', () => {
  const queue = [j('a', { concurrency: key('k', 1) }), j('b', { concurrency: key('k', 1) })];
  const plan = planPass(queue, [w('w-1', { state: 'unreachable', capacity: 10 })], NOW, new Map());
  assert.deepEqual(plan.starts, []);
  assert.deepEqual(
    plan.waits.map((x) => x.job.id),
    ['a', 'b'],
  );
  assert.match(plan.waits[0]!.reason, /unreachable/);
  const later = planPass(queue, [w('w-1', { state: 'unreachable', capacity: 10 }), w('w-2')], NOW, new Map());
  assert.deepEqual(
    later.starts.map((s) => [s.job.id, s.workerId]),
    [['a', 'w-2']],
  );
});

for (const c of keyTable) {
  test(`planner, concurrency: ${c.name}`, () => {
    const plan = planPass(c.queue, [w('w-1', { capacity: 10 })], NOW, new Map(c.active ?? []));
    assert.deepEqual(
      {
        starts: plan.starts.map((s) => s.job.id),
        waits: plan.waits.map((x) => [x.job.id, x.reason]),
        ...(plan.skips.length > 0 && { skips: plan.skips.map((x) => [x.job.id, x.reason]) }),
        ...(plan.cancels.length > 0 && { cancels: plan.cancels.map((x) => [x.job.id, x.stop]) }),
      },
      c.want,
    );
  });
}

const KEYS = ['k0', 'k1', 'k2'];
const keyedScenario = fc.record({
  queue: fc
    .array(
      fc.record({
        priority: fc.integer({ min: 0, max: 2 }),
        labels: fc.oneof(fc.constant({}), LABELS),
        concurrency: fc.option(fc.record({ key: fc.constantFrom(...KEYS), limit: fc.integer({ min: 1, max: 3 }), onLimit: fc.constantFrom<OnLimit>(...ON_LIMIT) }), { nil: null }),
      }),
      { maxLength: 30 },
    )
    .map((jobs) => jobs.map((job, i): QueuedJob => ({ id: `j-${String(i).padStart(3, '0')}`, pinnedWorker: '', ...job })))
    .chain((jobs) => fc.shuffledSubarray(jobs, { minLength: jobs.length })),
  workers: workersArb.map((ws) => ws.map((x, i): WorkerSnapshot => ({ id: `w-${i}`, ...x }))),
  running: fc.record({ k0: fc.nat(3), k1: fc.nat(3), k2: fc.nat(3) }),
});

function keyedProperty(name: string, check: (plan: Plan<QueuedJob>, queue: QueuedJob[], running: Record<string, number>) => void): void {
  test(`planner property, concurrency: ${name}`, () => {
    fc.assert(
      fc.property(keyedScenario, ({ queue, workers, running }) => {
        const active = new Map(KEYS.map((k) => [k, Array.from({ length: running[k as keyof typeof running] }, (_, i) => `${k}-r${i}`)]));
        check(planPass(queue, workers, NOW, active), queue, running);
      }),
      { numRuns: 1_000 },
    );
  });
}

keyedProperty('a job starts only while fewer than its limit of its key are running, those already running and earlier starts counted', (plan, _queue, running) => {
  const started: Record<string, number> = { ...running };
  for (const { job } of plan.starts) {
    const rule = job.concurrency;
    if (!rule) continue;
    assert.ok(started[rule.key]! < rule.limit, `${job.id} started with ${started[rule.key]} of ${rule.key} running, limit ${rule.limit}`);
    started[rule.key]!++;
  }
});

keyedProperty('with one limit per key, never more than the limit across the pass', (plan, queue, running) => {
  for (const k of KEYS) {
    const limits = new Set(queue.filter((x) => x.concurrency?.key === k).map((x) => x.concurrency!.limit));
    if (limits.size !== 1) continue;
    const [limit] = limits;
    const n = running[k]! + plan.starts.filter((s) => s.job.concurrency?.key === k).length;
    assert.ok(n <= Math.max(limit!, running[k]!), `${k}: ${n} > ${limit}`);
    if (plan.starts.some((s) => s.job.concurrency?.key === k)) assert.ok(n <= limit!, `${k}: ${n} > ${limit}`);
  }
});

keyedProperty('a key’s jobs start in priority then arrival order: none starts after an earlier one of its key was held back', (plan) => {
  for (const { job } of plan.starts) {
    const key = job.concurrency?.key;
    if (!key) continue;
    const earlier = plan.waits.find((x) => x.job.concurrency?.key === key && queueOrder(x.job, job) < 0 && x.reason.startsWith('concurrency key'));
    assert.equal(earlier, undefined, `${job.id} started while ${earlier?.job.id} of ${key} waits`);
  }
});

keyedProperty('every job is started, waits or is skipped, once; skips and cancels only at a key’s limit', (plan, queue) => {
  const ids = [...plan.starts, ...plan.waits, ...plan.skips].map((x) => x.job.id).sort();
  assert.deepEqual(ids, queue.map((x) => x.id).sort());
  for (const s of plan.skips) assert.equal(s.job.concurrency?.onLimit, 'skip', s.job.id);
  for (const c of plan.cancels) {
    assert.equal(c.job.concurrency?.onLimit, 'cancel_in_progress', c.job.id);
    assert.ok(c.stop.length > 0 && plan.waits.some((x) => x.job === c.job), c.job.id);
  }
});
