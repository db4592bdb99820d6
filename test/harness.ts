// Test-side entry to the cluster helpers: everything a test file starts is killed when it ends.
import { after } from 'node:test';
import { cleanUp } from './support/cluster.js';

export * from './support/cluster.js';

after(cleanUp);
