import type { StartJobRequest } from '../gen/baton/v1/worker.js';

/**
 * One Starts message stays under this many bytes and jobs: a quarter of the 16 MiB a worker
 * accepts per message, so a pass that places a long queue on one worker never sends a message
 * the worker must refuse (it would fail every start in it with RESOURCE_EXHAUSTED).
 */
export const MAX_START_MESSAGE_BYTES = 4 * 1024 * 1024;
export const MAX_STARTS_PER_MESSAGE = 1_000;

/**
 * An upper bound of a start's encoded size: every string at 3 bytes a UTF-16 unit (UTF-8's
 * worst case for them), and room for tags, lengths and numbers. Cheaper than encoding twice.
 */
export function startRequestBound(request: StartJobRequest): number {
  let chars = request.jobId.length + request.command.length + request.path.length + request.cwd.length + request.network.length;
  for (const arg of request.args) chars += arg.length;
  for (const [key, value] of Object.entries(request.env)) chars += key.length + value.length;
  const fields = 16 + request.args.length + 2 * Object.keys(request.env).length;
  return 3 * chars + 11 * fields;
}

/**
 * `items` in order, cut into runs of at most `maxCount` items whose `sizeOf` adds up to at
 * most `maxBytes`; an item bigger than `maxBytes` goes alone. Pure: no I/O.
 */
export function chunksOf<T>(items: readonly T[], sizeOf: (item: T) => number, maxBytes: number, maxCount: number): T[][] {
  const chunks: T[][] = [];
  let chunk: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (chunk.length > 0 && (chunk.length >= maxCount || bytes + size > maxBytes)) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(item);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}
