import { setFlagsFromString } from 'node:v8';

/**
 * After each full collection V8 lets the old space grow to a multiple of what was live, the
 * multiple picked from how fast it collects against how fast the program allocates: for a
 * scheduler taking jobs in batches, 4, its maximum. A long queue is most of what a scheduler
 * keeps live, so its memory peaked at about four times the queue's. Capped at 2, full
 * collections come more often, which a scheduler barely notices: running jobs, little of what
 * it allocates per job outlives a young-generation collection.
 */
const HEAP_GROWING_PERCENT = 100;

/** For the scheduler's process, before it starts: V8 reads the flag at each full collection. */
export function limitHeapGrowth(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
