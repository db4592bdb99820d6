import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type AfterCondition, BadReference, type DependencyState, findCycle, GONE, judge, resolveBatch } from './dependencies.js';
import { JOB_STATES, isFinal, type JobStateName } from './job-state.js';

const ids = ['a', 'b', 'c'];

test('resolveBatch: "#i" becomes the batch job’s id; other ids stay as given', () => {
  assert.deepEqual(resolveBatch([[], ['#0'], ['#0', '#1', 'old']], ids), [[], ['a'], ['a', 'b', 'old']]);
});

const refusals: { name: string; afters: string[][]; ids?: string[]; message: string }[] = [
  { name: 'out of range', afters: [[], ['#3'], []], message: 'jobs[1].after[0]: "#3" names no job of this batch (it has 3: #0 to #2)' },
  { name: 'not a number', afters: [['#x'], [], []], message: 'jobs[0].after[0]: "#x" names no job of this batch (it has 3: #0 to #2)' },
  { name: 'a leading zero', afters: [[], ['#01'], []], message: 'jobs[1].after[0]: "#01" names no job of this batch (it has 3: #0 to #2)' },
  { name: 'a job waiting for itself', afters: [[], [], ['#2']], message: "jobs[2].after: the batch's jobs wait for each other in a cycle (#2 → #2)" },
  { name: 'a cycle of three', afters: [['#2'], ['#0'], ['#1']], message: "jobs[0].after: the batch's jobs wait for each other in a cycle (#0 → #2 → #1 → #0)" },
  { name: 'a single job names its field `after`', afters: [['#0']], ids: ['a'], message: "after: the batch's jobs wait for each other in a cycle (#0 → #0)" },
];
for (const c of refusals) {
  test(`resolveBatch refuses ${c.name}`, () => {
    assert.throws(
      () => resolveBatch(c.afters, c.ids ?? ids),
      (err: unknown) => err instanceof BadReference && err.message === c.message,
    );
  });
}

const judgeTable: { name: string; after: string[]; condition: AfterCondition; states: [string, DependencyState][]; want: ReturnType<typeof judge> }[] = [
  {
    name: 'all succeeded: ready',
    after: ['a', 'b'],
    condition: 'succeeded',
    states: [
      ['a', 'succeeded'],
      ['b', 'succeeded'],
    ],
    want: { kind: 'ready' },
  },
  {
    name: 'one still running: waits, naming it',
    after: ['a', 'b'],
    condition: 'succeeded',
    states: [
      ['a', 'succeeded'],
      ['b', 'running'],
    ],
    want: { kind: 'wait', reason: 'waiting for job b to succeed' },
  },
  {
    name: 'a retry in the queue is not final: waits',
    after: ['a'],
    condition: 'finished',
    states: [['a', 'queued']],
    want: { kind: 'wait', reason: 'waiting for job a to finish' },
  },
  { name: 'several pending are all named', after: ['a', 'b', 'c'], condition: 'succeeded', states: [], want: { kind: 'wait', reason: 'waiting for jobs a, b and c to succeed' } },
  {
    name: 'one failed: skipped at once, even while another runs',
    after: ['a', 'b'],
    condition: 'succeeded',
    states: [
      ['a', 'running'],
      ['b', 'failed'],
    ],
    want: { kind: 'skip', reason: 'job b ended failed, and this job runs only after it succeeds' },
  },
  {
    name: 'finished: any ending will do',
    after: ['a', 'b'],
    condition: 'finished',
    states: [
      ['a', 'stopped'],
      ['b', 'skipped'],
    ],
    want: { kind: 'ready' },
  },
  {
    name: 'succeeded, one deleted by retention: skipped, saying so',
    after: ['a', 'b'],
    condition: 'succeeded',
    states: [
      ['a', 'running'],
      ['b', GONE],
    ],
    want: { kind: 'skip', reason: 'job b was deleted (--job-retention) before this job could see it succeed' },
  },
  {
    name: 'finished, one deleted by retention: it ended, so it will do',
    after: ['a', 'b'],
    condition: 'finished',
    states: [
      ['a', 'succeeded'],
      ['b', GONE],
    ],
    want: { kind: 'ready' },
  },
  {
    name: 'finished, one deleted, one pending: waits for that one only',
    after: ['a', 'b'],
    condition: 'finished',
    states: [['a', GONE]],
    want: { kind: 'wait', reason: 'waiting for job b to finish' },
  },
];
for (const c of judgeTable) {
  test(`judge: ${c.name}`, () => {
    assert.deepEqual(judge({ after: c.after, condition: c.condition }, new Map(c.states)), c.want);
  });
}

// Property tests: random graphs (edges only to lower indices are acyclic; a back edge may close a cycle).

const graphArb = fc.integer({ min: 1, max: 12 }).chain((n) => fc.array(fc.uniqueArray(fc.nat(n - 1), { maxLength: 4 }), { minLength: n, maxLength: n }));

/** Whether `edges` has a cycle, by repeatedly removing nodes nobody waits on (Kahn). */
function hasCycle(edges: number[][]): boolean {
  const waitedOnBy = edges.map(() => 0);
  for (const out of edges) for (const j of out) waitedOnBy[j]!++;
  const free = edges.map((_, i) => i).filter((i) => waitedOnBy[i] === 0);
  let removed = 0;
  while (free.length > 0) {
    const i = free.pop()!;
    removed++;
    for (const j of edges[i]!) if (--waitedOnBy[j]! === 0) free.push(j);
  }
  return removed < edges.length;
}

test('findCycle property: finds one exactly when the graph has one, and it is a real cycle', () => {
  fc.assert(
    fc.property(graphArb, (edges) => {
      const cycle = findCycle(edges);
      assert.equal(cycle !== undefined, hasCycle(edges));
      if (!cycle) return;
      assert.equal(cycle[0], cycle.at(-1));
      for (let k = 1; k < cycle.length; k++) assert.ok(edges[cycle[k - 1]!]!.includes(cycle[k]!), `${cycle[k - 1]} → ${cycle[k]}`);
    }),
    { numRuns: 2_000 },
  );
});

test('resolveBatch property: an acyclic batch resolves to ids, a cyclic one is refused', () => {
  fc.assert(
    fc.property(graphArb, (edges) => {
      const names = edges.map((_, i) => `job-${i}`);
      const afters = edges.map((out) => out.map((j) => `#${j}`));
      if (hasCycle(edges)) assert.throws(() => resolveBatch(afters, names), BadReference);
      else
        assert.deepEqual(
          resolveBatch(afters, names),
          edges.map((out) => out.map((j) => names[j]!)),
        );
    }),
    { numRuns: 2_000 },
  );
});

test('judge property: ready iff all ended as the condition asks; skipped iff one ended against it; never both', () => {
  const stateArb = fc.constantFrom(...JOB_STATES);
  fc.assert(
    fc.property(fc.array(stateArb, { minLength: 1, maxLength: 6 }), fc.constantFrom<AfterCondition>('succeeded', 'finished'), (states, condition) => {
      const after = states.map((_, i) => `d${i}`);
      const verdict = judge({ after, condition }, new Map(states.map((s, i) => [`d${i}`, s])));
      const against = condition === 'succeeded' && states.some((s) => isFinal(s) && s !== 'succeeded');
      assert.equal(verdict.kind === 'skip', against);
      assert.equal(verdict.kind === 'ready', !against && states.every(isFinal));
      if (verdict.kind === 'wait') for (const [i, s] of states.entries()) assert.equal(verdict.reason.includes(`d${i}`), !isFinal(s));
    }),
    { numRuns: 2_000 },
  );
});

/** Every job the transitive closure of `failed` reaches through `edges` (who waits for whom). */
function downstream(edges: number[][], failed: number): Set<number> {
  const out = new Set<number>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const [i, deps] of edges.entries()) {
      if (!out.has(i) && deps.some((d) => d === failed || out.has(d))) {
        out.add(i);
        grew = true;
      }
    }
  }
  return out;
}

test('judge property: replayed over an acyclic graph, a failed job skips exactly what follows it, and everything else runs', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 10 }).chain((n) => fc.tuple(fc.array(fc.uniqueArray(fc.nat(n - 1), { maxLength: 3 }), { minLength: n, maxLength: n }), fc.nat(n - 1))),
      ([raw, failed]) => {
        // Only edges to lower indices: acyclic, and index order is an order the jobs can end in.
        const edges = raw.map((out, i) => out.filter((j) => j < i));
        const states = new Map<string, JobStateName>();
        for (const [i, deps] of edges.entries()) {
          const verdict = judge({ after: deps.map(String), condition: 'succeeded' }, states);
          assert.notEqual(verdict.kind, 'wait', `${i} waits though all before it ended`);
          states.set(String(i), verdict.kind === 'skip' ? 'skipped' : i === failed ? 'failed' : 'succeeded');
        }
        const skipped = downstream(edges, failed);
        for (const i of edges.keys()) assert.equal(states.get(String(i)) === 'skipped', skipped.has(i), `job ${i}`);
      },
    ),
    { numRuns: 1_000 },
  );
});
