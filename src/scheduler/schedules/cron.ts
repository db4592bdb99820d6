import { Cron } from 'croner';
import { BatonError, echo } from '../../common/errors.js';
import { parseDuration } from '../../common/duration.js';

/**
 * Pure: a schedule's cron expression and time zone, read by croner (never by hand), with
 * croner's errors put in words that name the field and the fault.
 *
 * Daylight saving, as croner does it: an expression whose second, minute and hour fields are
 * single values (`30 2 * * *`) is a fixed time. When that local time does not exist (spring
 * forward) it is moved to the first time after the gap, on the same day (02:30 → 03:00 in
 * Europe/Berlin on 2026-03-29); when it happens twice (fall back) it fires once, at the first
 * occurrence. Any other expression (`0,30 * * * *`, `@every 10m`) is an interval: a time in
 * the gap is skipped, and a repeated time fires on both occurrences, which are distinct instants.
 */

/** The unit fields croner numbers its "configuration entry N" by: seconds first, always. */
const FIELDS = [
  { name: 'second', range: '0-59' },
  { name: 'minute', range: '0-59' },
  { name: 'hour', range: '0-23' },
  { name: 'day', range: '1-31', words: 'day of month' },
  { name: 'month', range: '1-12' },
  { name: 'dayOfWeek', range: '0-7', words: 'day of week' },
] as const;

const NICKNAMES = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];

/** `@every D` as a cron pattern: D must divide the next unit up evenly, so every tick is the same distance apart. */
function everyPattern(expr: string, spec: string): string {
  let ms: number;
  try {
    ms = parseDuration(spec, { positive: true });
  } catch (err) {
    throw bad(expr, (err as Error).message);
  }
  const s = ms / 1000;
  const divides = (n: number, whole: number): boolean => Number.isInteger(n) && whole % n === 0;
  if (divides(s, 60)) return s === 1 ? '* * * * * *' : `*/${s} * * * * *`;
  if (divides(s / 60, 60)) return `0 */${s / 60} * * * *`;
  if (divides(s / 3600, 24)) return `0 0 */${s / 3600} * * *`;
  if (s === 86_400) return '0 0 0 * * *';
  throw bad(expr, 'the interval must divide a minute (1s…30s), an hour (1m…30m) or a day (1h…12h, 24h) evenly');
}

function bad(expr: string, fault: string): BatonError {
  return new BatonError('BAD_REQUEST', `cron "${echo(expr)}": ${fault}`);
}

/** The six fields (seconds first) an expression is made of; nicknames as they are. */
function fieldsOf(expr: string): string[] | undefined {
  const parts = expr.trim().split(/\s+/);
  if (parts.length === 5) return ['0', ...parts];
  if (parts.length === 6) return parts;
  return undefined;
}

/** croner's words → ours, naming the field by the text the caller wrote. */
function explain(expr: string, fields: readonly string[] | undefined, err: Error): BatonError {
  const message = err.message.replace(/^CronPattern: /, '');
  const range = /^Invalid value for (\w+)/.exec(message);
  const entry = /^configuration entry (?:(\d+)|(\w+)) /.exec(message);
  const index = range ? FIELDS.findIndex((f) => f.name === range[1]) : entry ? (entry[1] !== undefined ? Number(entry[1]) : FIELDS.findIndex((f) => f.name === entry[2])) : -1;
  const field = FIELDS[index];
  const text = fields?.[index];
  if (field && text !== undefined) {
    const words = 'words' in field ? field.words : field.name;
    if (range) return bad(expr, `${words} ${text} is out of range ${field.range}`);
    if (text === '') return bad(expr, `${words} is empty`);
    return bad(expr, `${words} "${echo(text)}" is not a value, range, list or step (${field.range})`);
  }
  return bad(expr, message.replace(/^Syntax error, /, ''));
}

/** Refuses a time zone the runtime does not know (BAD_REQUEST naming `timezone`). */
export function checkTimezone(timezone: string): void {
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
  } catch {
    throw new BatonError('BAD_REQUEST', `timezone "${echo(timezone)}" is not an IANA time zone name (e.g. UTC, Europe/Berlin, America/New_York)`);
  }
}

/** A schedule's fire times: epoch milliseconds, whole seconds. */
export class CronTimes {
  private readonly cron: Cron;

  /** BAD_REQUEST naming the field when the expression or time zone is wrong, or when it never fires. */
  constructor(
    readonly expr: string,
    readonly timezone: string,
  ) {
    checkTimezone(timezone);
    const trimmed = expr.trim();
    const every = /^@every\s+(\S+)$/.exec(trimmed);
    let pattern = trimmed;
    let fields: string[] | undefined;
    if (every) {
      pattern = everyPattern(expr, every[1]!);
    } else if (trimmed.startsWith('@')) {
      if (!NICKNAMES.includes(trimmed.toLowerCase())) throw bad(expr, `unknown nickname; use one of ${NICKNAMES.join(', ')} or @every <duration>`);
    } else {
      fields = fieldsOf(trimmed);
      if (!fields) throw bad(expr, 'five fields (minute hour day month weekday), or six with seconds first, are needed');
    }
    try {
      this.cron = new Cron(pattern, { timezone, paused: true });
    } catch (err) {
      throw explain(expr, fields, err as Error);
    }
    if (this.next(Date.now()) === null) throw bad(expr, 'it never fires (no date matches it)');
  }

  /** The first fire time after `after` (strictly); null when there is none. */
  next(after: number): number | null {
    return this.cron.nextRun(new Date(after))?.getTime() ?? null;
  }

  /** Up to `n` fire times after `after`. */
  nextN(after: number, n: number): number[] {
    return this.cron.nextRuns(n, new Date(after)).map((d) => d.getTime());
  }

  /** The last fire time before `before` (strictly); null when there is none. */
  previous(before: number): number | null {
    return this.cron.previousRuns(1, new Date(before))[0]?.getTime() ?? null;
  }
}
