import type { Socket } from 'node:net';

/**
 * Calls `handle` with each non-empty line the socket delivers (the protocol's framing, see
 * ./messages.ts), until the socket is destroyed. Node built-ins only: the supervisor uses it.
 */
export function readLines(socket: Socket, handle: (line: string) => void): void {
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0 && !socket.destroyed) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line !== '') handle(line);
    }
  });
}
