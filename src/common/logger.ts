import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/**
 * One JSON line per event on stdout; one human-readable line per event when stdout is a
 * terminal (or BATON_LOG_FORMAT=pretty). Components pass ids as fields, never in the text,
 * so logs can be filtered by job_id and worker_id.
 */
export function createLogger(component: string): Logger {
  const level = process.env.BATON_LOG_LEVEL ?? 'info';
  const format = process.env.BATON_LOG_FORMAT ?? (process.stdout.isTTY ? 'pretty' : 'json');
  const base = { component };
  if (format === 'pretty') {
    // One line per event, error objects included (as JSON), so a terminal reads like a log.
    return pino({ level, base }, pretty({ sync: true, colorize: true, ignore: 'pid,hostname', singleLine: true, errorLikeObjectKeys: [] }));
  }
  // Asynchronous writes: under load, lines logged while a write is in flight go out
  // together in one syscall instead of one blocking write each (a busy scheduler logs
  // several lines per job). Flushed on exit so no line is lost.
  // Lines also wait for 4 KiB to gather (or 100 ms to pass): one write() per ~16 lines
  // instead of one per line or two took ~8% off the scheduler's CPU per job.
  // One write is in flight at a time, and the next goes when the loop next polls: capped at
  // sonic-boom's default 16 KiB, a busy scheduler (hundreds of KiB of lines per turn of the
  // loop while it takes batches) wrote a fraction of its lines and held the rest, 20+ MiB of
  // strings in the heap. Each write now takes whatever has gathered, up to MAX_WRITE, and what
  // waits is kept as Buffers, outside the heap.
  const destination = pino.destination({ dest: 1, sync: false, minLength: GATHER, maxWrite: MAX_WRITE, contentMode: 'buffer' });
  // In buffer mode it takes Buffers (sonic-boom's types know only its string mode).
  const lines = gathered(destination as unknown as BufferDestination);
  setInterval(() => {
    try {
      lines.flush();
    } catch {
      // stdout is gone (the stream was destroyed): nothing left to write to
    }
  }, 100).unref();
  process.once('exit', () => {
    try {
      lines.flushSync();
    } catch {
      // not ready yet (nothing written) or stdout already gone: nothing to save
    }
  });
  return pino({ level, base, timestamp: pino.stdTimeFunctions.isoTime }, lines);
}

/** Characters of log lines handed to the destination at once. */
const GATHER = 4096;
/** Bytes of log lines written to stdout by one write(). */
const MAX_WRITE = 1024 * 1024;

/** sonic-boom in buffer mode. */
interface BufferDestination {
  write(data: Buffer): boolean;
  flush(): void;
  flushSync(): void;
}

/**
 * The lines, handed to `destination` GATHER characters at a time as one Buffer rather than
 * one by one: a Buffer (and sonic-boom's bookkeeping) per line would cost more than the line.
 */
function gathered(destination: BufferDestination): { write(line: string): void; flush(): void; flushSync(): void } {
  let lines: string[] = [];
  let length = 0;
  const hand = (): void => {
    if (lines.length === 0) return;
    destination.write(Buffer.from(lines.join('')));
    lines = [];
    length = 0;
  };
  return {
    write: (line) => {
      lines.push(line);
      length += line.length;
      if (length >= GATHER) hand();
    },
    flush: () => {
      hand();
      destination.flush();
    },
    flushSync: () => {
      hand();
      destination.flushSync();
    },
  };
}
