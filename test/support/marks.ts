// Start and end marks that jobs write themselves ("start|end <ns> <name>", a line each): what
// tests of ordering and concurrency check, rather than the scheduler's own word.
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from './cluster.js';

/** A file every job may append its marks to (jobs run as another user). */
export function marksFile(): string {
  const shared = tempDir();
  chmodSync(shared, 0o755);
  const marks = path.join(shared, 'marks');
  writeFileSync(marks, '');
  chmodSync(marks, 0o666);
  return marks;
}

/** When each named job started and ended, by its own marks. */
export function spans(marks: string): Map<string, { start: bigint; end: bigint }> {
  const out = new Map<string, { start: bigint; end: bigint }>();
  for (const line of marks.trim().split('\n')) {
    const [kind, ns, name] = line.split(' ');
    const span = out.get(name!) ?? { start: -1n, end: -1n };
    span[kind as 'start' | 'end'] = BigInt(ns!);
    out.set(name!, span);
  }
  return out;
}

/** The most jobs that were between their start and end marks at once (an end at the same instant as a start counts first). */
export function mostAtOnce(marks: string): number {
  const events = marks
    .trim()
    .split('\n')
    .map((line) => {
      const [kind, ns] = line.split(' ');
      return { at: BigInt(ns!), delta: kind === 'start' ? 1 : -1 };
    })
    .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.delta - b.delta));
  let now = 0;
  let most = 0;
  for (const e of events) most = Math.max(most, (now += e.delta));
  return most;
}
