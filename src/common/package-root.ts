import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The folder holding package.json, proto/ and examples/ (this file is dist/src/common/*.js). */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
