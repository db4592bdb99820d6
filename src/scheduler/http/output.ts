import type { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** Longest worker or job id accepted. */
export const MAX_ID = 256;
/**
 * Longest command, path or cwd accepted (Linux PATH_MAX). Longer ones can only be refused, and a
 * worker's refusal quotes them: a message of tens of kilobytes overflowed the gRPC trailer and
 * hung the call (found by test/fuzz.test.ts).
 */
export const MAX_PATH = 4096;

/**
 * Sends a job's output as a chunked body. A followed job may stay silent for longer than
 * the server's idle timeout, so that timeout is lifted for this socket. Fastify destroys
 * the stream when the client leaves, which cancels the gRPC call behind it.
 */
export function sendOutput(req: FastifyRequest, reply: FastifyReply, output: Readable): FastifyReply {
  req.raw.socket.setTimeout(0);
  return reply.code(200).header('content-type', 'text/plain; charset=utf-8').header('x-content-type-options', 'nosniff').send(output);
}
