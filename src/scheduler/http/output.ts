import type { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Sends a job's output as a chunked body. A followed job may stay silent for longer than
 * the server's idle timeout, so that timeout is lifted for this socket. Fastify destroys
 * the stream when the client leaves, which cancels the gRPC call behind it.
 */
export function sendOutput(req: FastifyRequest, reply: FastifyReply, output: Readable): FastifyReply {
  req.raw.socket.setTimeout(0);
  return reply.code(200).header('content-type', 'text/plain; charset=utf-8').header('x-content-type-options', 'nosniff').send(output);
}
