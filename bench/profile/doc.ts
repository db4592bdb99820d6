/** The "## Profile" section of docs/benchmarks.md: bench/profile.ts writes it, bench/run.ts keeps it. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export const PROFILE_HEADING = '## Profile';

/**
 * Replaces the part of the profile section between `<!-- profile:<key> -->` markers with
 * `body` (appended when absent), so profiles of several scenarios, before and after a change,
 * can stand side by side.
 */
export function writeProfilePart(file: string, key: string, body: string): void {
  let doc = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  if (!doc.includes(`\n${PROFILE_HEADING}`)) doc = `${doc.trimEnd()}\n\n${PROFILE_HEADING}\n`;
  const open = `<!-- profile:${key} -->`;
  const close = `<!-- /profile:${key} -->`;
  const part = `${open}\n${body.trim()}\n${close}`;
  const from = doc.indexOf(open);
  const to = doc.indexOf(close);
  doc = from >= 0 && to > from ? doc.slice(0, from) + part + doc.slice(to + close.length) : `${doc.trimEnd()}\n\n${part}\n`;
  writeFileSync(file, doc.endsWith('\n') ? doc : `${doc}\n`);
}
