import type { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { OUTPUT_HEADERS } from '../../api/jobs.js';
import { contentRange, type PickedRange } from './range.js';

/** Names the attempt an output answer is from, so that a reader whose stream broke off resumes that one (at the offset it reached). */
export const ATTEMPT_HEADER = OUTPUT_HEADERS.attempt;
/** The byte of the attempt's output the body starts at (not 0 for `tail`), so that a reader resumes at the right one. */
export const OFFSET_HEADER = OUTPUT_HEADERS.offset;

/**
 * Sends a job's output as a chunked body. A followed job may stay silent for longer than
 * the server's idle timeout, so that timeout is lifted for this socket. Fastify destroys
 * the stream when the client leaves, which cancels the gRPC call behind it.
 */
export function sendOutput(req: FastifyRequest, reply: FastifyReply, output: { body: Readable; attempt: number; start: number; picked?: PickedRange }): FastifyReply {
  req.raw.socket.setTimeout(0);
  if (output.picked) void reply.header(OUTPUT_HEADERS.contentRange, contentRange(output.picked));
  return reply
    .code(output.picked ? 206 : 200)
    .header(OUTPUT_HEADERS.acceptRanges, 'bytes')
    .header('content-type', 'text/plain; charset=utf-8')
    .header('x-content-type-options', 'nosniff')
    .header(ATTEMPT_HEADER, String(output.attempt))
    .header(OFFSET_HEADER, String(output.start))
    .send(output.body);
}
