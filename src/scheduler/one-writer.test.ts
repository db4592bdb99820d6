// One writer of job state: job and attempt rows are written only by the store's job writes
// (each stores its event in the same transaction), those are called only by the lifecycle's
// writer (job-status.ts), and only it announces job changes. Checked on the sources, like the
// spawner's import rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Tests run from dist/src/scheduler; the sources are in src/.
const SRC = fileURLToPath(new URL('../../../src/', import.meta.url));

function sources(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'gen' ? [] : sources(full);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [full] : [];
  });
}

const RULES: { what: string; pattern: RegExp; onlyIn: string[] }[] = [
  {
    what: 'a job or attempt row written',
    pattern: /\b(?:updateTable|insertInto|deleteFrom|insert)\(\s*['"](?:jobs|attempts)['"]/g,
    onlyIn: ['scheduler/store/sql-job-store.ts'],
  },
  {
    what: "a store job write called (the lifecycle's writer applies transitions)",
    // On any receiver but the applier itself (whose own setReason and setStoppedBy are how the others ask).
    pattern: /(?<!\bapplier\s*)\.\s*(?:createJobs?|applyStatus|markDispatched|returnToQueue|requeueForRetry|setReason|setStoppedBy|setParentState)\s*\(/g,
    onlyIn: ['scheduler/job-status.ts', 'scheduler/store/sql-job-store.ts'],
  },
  {
    what: 'a job change announced',
    pattern: /\.\s*emit\(\s*['"]job['"]/g,
    onlyIn: ['scheduler/job-status.ts'],
  },
];

for (const rule of RULES) {
  test(`${rule.what} only in ${rule.onlyIn.join(', ')}`, () => {
    const files = sources();
    assert.ok(files.length > 50, `found the sources in ${SRC}`);
    const offenders = files
      .map((f) => path.relative(SRC, f).split(path.sep).join('/'))
      .filter((rel) => !rule.onlyIn.includes(rel))
      .flatMap((rel) => {
        const code = readFileSync(path.join(SRC, rel), 'utf8');
        // Over the whole text: a call chain may break across lines.
        return [...code.matchAll(rule.pattern)].map((m) => `${rel}:${code.slice(0, m.index).split('\n').length}: ${m[0].replace(/\s+/g, ' ')}`);
      });
    assert.deepEqual(offenders, []);
  });
}
