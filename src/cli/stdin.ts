import { MAX_STDIN_BYTES } from '../api/jobs.js';
import { asBuffer } from '../common/bytes.js';

/** `baton run -i`: this process's standard input, read to its end, sent with the job. */

export const STDIN_LIMIT_TEXT = `${MAX_STDIN_BYTES / 1024} KiB`;

/** Chunks up to `max` bytes, joined; an error past that, so that input is never cut short silently. */
export async function readAllBounded(input: AsyncIterable<Uint8Array | string>, max: number = MAX_STDIN_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : asBuffer(chunk);
    size += bytes.length;
    if (size > max) {
      throw new Error(`stdin is larger than ${max / 1024} KiB, the most -i sends with a job: put larger input in a file in the worker's jobs folder instead`);
    }
    chunks.push(bytes);
  }
  return Buffer.concat(chunks, size);
}

/** The `stdin` field of POST /v1/jobs for what `baton run -i` read. */
export async function stdinField(input: AsyncIterable<Uint8Array | string> = process.stdin): Promise<string> {
  if (input === process.stdin && process.stdin.isTTY) process.stderr.write("baton: reading the job's stdin from this terminal until Ctrl-D\n");
  return (await readAllBounded(input)).toString('base64');
}
