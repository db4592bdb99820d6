import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

/** What a compiled module imports, statically or not. */
function importsOf(url: URL): string[] {
  const code = readFileSync(url, 'utf8');
  return [...code.matchAll(/(?:^|\n)\s*import\s[^;]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)/g)].map(
    (m) => m[1] ?? m[2] ?? m[3] ?? '',
  );
}

describe('spawner-main', () => {
  it('loads nothing but Node built-ins and its own modules (its small RSS keeps the process cheap)', () => {
    const visited = new Set<string>();
    const outside: string[] = [];
    const visit = (url: URL): void => {
      if (visited.has(url.href)) return;
      visited.add(url.href);
      const specifiers = importsOf(url);
      // The pattern must see imports where there are some (spawner-main has several).
      if (visited.size === 1) assert.ok(specifiers.length > 0, `found the imports of ${url.pathname}`);
      for (const specifier of specifiers) {
        if (specifier.startsWith('node:')) continue;
        if (specifier.startsWith('./') || specifier.startsWith('../')) visit(new URL(specifier, url));
        else outside.push(specifier);
      }
    };
    visit(new URL('./spawner-main.js', import.meta.url));
    assert.ok(visited.size > 1, 'followed its own modules');
    assert.deepEqual(outside, []);
  });
});
