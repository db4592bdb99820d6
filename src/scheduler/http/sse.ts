import type { FastifyReply, FastifyRequest } from 'fastify';

/** Unsent bytes beyond which a reader is too slow to keep: its stream ends, and it resumes with Last-Event-ID. */
const MAX_BUFFERED = 8 * 1024 * 1024;

export interface SseStream {
  /** One event; its data is one line of JSON. */
  send(id: number, event: string, data: string): void;
  /** A comment line (`: text`), which readers ignore: keeps proxies and idle timeouts from cutting the stream. */
  comment(text: string): void;
  readonly closed: boolean;
  /** Called once, when the reader leaves or the stream ends. */
  onClose(fn: () => void): void;
}

/** Takes the response over from fastify and starts a text/event-stream on it. */
export function openSse(req: FastifyRequest, reply: FastifyReply): SseStream {
  reply.hijack();
  const res = reply.raw;
  // The stream may stay quiet for longer than the server's idle timeout between pings.
  req.raw.socket.setTimeout(0);
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    // Nginx and the like would hold events back in a buffer.
    'x-accel-buffering': 'no',
  });
  let closed = false;
  const closers: (() => void)[] = [];
  const close = (): void => {
    if (closed) return;
    closed = true;
    for (const fn of closers) fn();
    if (!res.writableEnded) res.end();
  };
  res.on('close', close);
  const write = (text: string): void => {
    if (closed) return;
    res.write(text);
    if (res.writableLength > MAX_BUFFERED) close();
  };
  write(': connected\n\n');
  return {
    send: (id, event, data) => write(`id: ${id}\nevent: ${event}\ndata: ${data}\n\n`),
    comment: (text) => write(`: ${text}\n\n`),
    get closed() {
      return closed;
    },
    onClose: (fn) => closers.push(fn),
  };
}
