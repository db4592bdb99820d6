import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

describe('spawner-main', () => {
  it('loads nothing but Node built-ins (its small RSS keeps fork cheap)', () => {
    const code = readFileSync(new URL('./spawner-main.js', import.meta.url), 'utf8');
    const specifiers = [...code.matchAll(/(?:^|\n)\s*import\s[^;]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)/g)].map(
      (m) => m[1] ?? m[2] ?? m[3],
    );
    assert.ok(specifiers.length > 0, 'found its imports');
    assert.deepEqual(specifiers.filter((s) => !s?.startsWith('node:')), []);
  });
});
