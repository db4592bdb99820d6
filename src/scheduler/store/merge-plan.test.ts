import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { planMerges, type MergeTraits } from './merge-plan.js';

/** "a:x" is a query of kind a on key x, "e:" one of kind e on no key, "-" a query alone; each of 1 character. */
function traits(query: string): MergeTraits | undefined {
  if (query === '-') return undefined;
  const [kind, key] = query.split(':');
  return { kind: kind!, key: key || undefined, chars: 1 };
}

describe('planMerges', () => {
  const cases: { name: string; queries: string[]; maxChars?: number; statements: number[][] }[] = [
    { name: 'queries alone run alone, in order', queries: ['-', '-'], statements: [[0], [1]] },
    { name: 'one kind on other keys: one statement', queries: ['a:x', 'a:y', 'a:z'], statements: [[0, 1, 2]] },
    {
      name: "each job's status, attempt and output check, job after job: a statement per kind",
      queries: ['j:x', 't:x', 'o:x', 'j:y', 't:y', 'o:y'],
      statements: [
        [0, 3],
        [1, 4],
        [2, 5],
      ],
    },
    {
      name: 'a key twice in one kind: a second statement',
      queries: ['a:x', 'a:y', 'a:x', 'a:z'],
      statements: [
        [0, 1],
        [2, 3],
      ],
    },
    { name: 'not moved ahead of another kind on its key', queries: ['a:x', 'b:y', 'a:y', 'a:z'], statements: [[0], [1], [2, 3]] },
    { name: 'nor ahead of a query alone', queries: ['a:x', '-', 'a:y'], statements: [[0], [1], [2]] },
    {
      name: 'inserts of new rows (no key) merge past anything but a query alone',
      queries: ['e:', 'a:x', 'e:', 'a:x', 'e:', '-', 'e:'],
      statements: [[0, 2, 4], [1], [3], [5], [6]],
    },
    { name: 'within maxChars', queries: ['a:x', 'a:y', 'a:z'], maxChars: 2, statements: [[0, 1], [2]] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(planMerges(c.queries.map(traits), c.maxChars ?? 100), c.statements);
    });
  }
});
