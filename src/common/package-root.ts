import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The folder holding package.json, proto/ and examples/ (this file is dist/src/common/*.js). */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Baton's version, from its package.json. */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
}
