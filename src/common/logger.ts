import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/**
 * One JSON line per event on stdout; human-readable when stdout is a terminal
 * (or BATON_LOG_FORMAT=pretty). Components pass ids as fields, never in the text,
 * so logs can be filtered by job_id and worker_id.
 */
export function createLogger(component: string): Logger {
  const level = process.env.BATON_LOG_LEVEL ?? 'info';
  const format = process.env.BATON_LOG_FORMAT ?? (process.stdout.isTTY ? 'pretty' : 'json');
  const base = { component };
  if (format === 'pretty') {
    return pino({ level, base }, pretty({ sync: true, colorize: true, ignore: 'pid,hostname' }));
  }
  return pino({ level, base, timestamp: pino.stdTimeFunctions.isoTime });
}
