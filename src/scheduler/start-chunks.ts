import { MAX_MESSAGE_BYTES } from '../common/grpc.js';
import { StartJobRequest } from '../gen/baton/v1/worker.js';

/**
 * One Starts message stays under this many bytes and jobs: a quarter of the 16 MiB a worker
 * accepts per message, so a pass that places a long queue on one worker never sends a message
 * the worker must refuse (it would fail every start in it with RESOURCE_EXHAUSTED).
 */
export const MAX_START_MESSAGE_BYTES = MAX_MESSAGE_BYTES / 4;
export const MAX_STARTS_PER_MESSAGE = 1_000;

/** What the size bound reads: a StartJobRequest, or a job's fields before its request is made (stdin as its byte count). */
export type StartFields = Pick<StartJobRequest, 'jobId' | 'command' | 'path' | 'cwd' | 'network' | 'args' | 'env'> & { stdin: { length: number } };

/**
 * An upper bound of a start's encoded size: every string at 3 bytes a UTF-16 unit (UTF-8's
 * worst case for them), stdin's bytes as they are, and room for tags, lengths and numbers. Cheaper than encoding twice.
 */
export function startRequestBound(request: StartFields): number {
  let chars = request.jobId.length + request.command.length + request.path.length + request.cwd.length + request.network.length;
  for (const arg of request.args) chars += arg.length;
  for (const [key, value] of Object.entries(request.env)) chars += key.length + value.length;
  const fields = 16 + request.args.length + 2 * Object.keys(request.env).length;
  return 3 * chars + request.stdin.length + 11 * fields;
}

/**
 * Why a worker could never take this start: it is bigger than any message it accepts (room
 * left for the framing around it). Undefined for every start of a sane size; the bound spares
 * encoding all but the huge ones.
 */
export function tooLargeToStart(request: StartJobRequest): string | undefined {
  return tooLargeFrom(request, () => request);
}

/** tooLargeToStart from a start's fields: its request is made (and encoded) only when the bound is over the limit. */
export function tooLargeFrom(fields: StartFields, request: () => StartJobRequest): string | undefined {
  const room = MAX_MESSAGE_BYTES - 1024;
  if (startRequestBound(fields) <= room) return undefined;
  const bytes = StartJobRequest.encode(request()).finish().length;
  if (bytes <= room) return undefined;
  const mib = (n: number): string => (n / 1024 / 1024).toFixed(1);
  return `the job is too large to send to a worker: ${mib(bytes)} MiB of command, arguments and environment, where a worker takes at most ${mib(room)} MiB`;
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
