/**
 * Fault injection for `node --import <this file>`: better-sqlite3 and pg cannot be found, as on
 * a worker host installed with `npm ci --omit=optional`. Nothing else changes.
 */
import { register } from 'node:module';

register('./no-db-drivers-hooks.js', import.meta.url);
