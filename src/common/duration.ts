/**
 * Pure: the one reading of a duration, for flags, BATON_* variables, baton.toml and the
 * dashboard. A bare number is seconds, as in the HTTP API; a unit says otherwise: 500ms,
 * 30s, 5m, 2h, 1d, and parts in that order such as 1m30s or 1h30m. No I/O (the dashboard
 * bundles it).
 */

/** The longest duration read: Node's timers cap at 2^31-1 ms, and a longer one fires at once. */
export const MAX_DURATION_MS = 2 ** 31 - 1;

export const DURATION_HINT = 'use a number of seconds or a unit, e.g. 30s, 5m, 500ms';

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
type Unit = keyof typeof UNIT_MS;
const ORDER: readonly Unit[] = ['d', 'h', 'm', 's', 'ms'];
const PART = /(\d+(?:\.\d+)?|\.\d+)(ms|d|h|m|s)/y;
const SECONDS = /^(\d+(?:\.\d+)?|\.\d+)$/;

export interface DurationRule {
  /** Refuse 0 as well (an interval or a TTL of nothing). */
  positive?: boolean;
  /** An age compared with timestamps, never a timer: up to ~100 years instead of MAX_DURATION_MS. */
  age?: boolean;
}

/** The longest age read (`age` rule): about 100 years. */
export const MAX_AGE_MS = 100 * 365 * 86_400_000;

/**
 * "30" or "30s" → 30000, "1m30s" → 90000, "500ms" → 500 (milliseconds, rounded to whole ones).
 * Throws an Error whose message says what is wrong without repeating the text: callers
 * name the flag or key and the value.
 */
export function parseDuration(text: string, rule: DurationRule = {}): number {
  const s = text.trim();
  if (s === '') throw new Error(`empty; ${DURATION_HINT}`);
  if (s.startsWith('-')) throw new Error('a duration cannot be negative');
  const ms = SECONDS.test(s) ? Number(s) * 1000 : sumOfParts(s);
  if (rule.age) {
    if (!Number.isFinite(ms) || ms > MAX_AGE_MS) throw new Error('too long: at most 36500d (about 100 years)');
    return Math.round(ms);
  }
  if (!Number.isFinite(ms) || ms > MAX_DURATION_MS) throw new Error(`too long: at most ${MAX_DURATION_MS} ms (about 24.8 days)`);
  const rounded = Math.round(ms);
  if (rule.positive && rounded === 0) throw new Error('must be more than 0');
  return rounded;
}

function sumOfParts(s: string): number {
  let total = 0;
  let last = -1;
  PART.lastIndex = 0;
  while (PART.lastIndex < s.length) {
    const m = PART.exec(s);
    if (!m) throw new Error(`not a duration; ${DURATION_HINT}`);
    const unit = m[2] as Unit;
    const rank = ORDER.indexOf(unit);
    if (rank <= last) throw new Error(`units go from largest to smallest, each once (e.g. 1h30m, 1m30s)`);
    last = rank;
    total += Number(m[1]) * UNIT_MS[unit];
  }
  return total;
}

/** A number of milliseconds as the shortest text parseDuration reads back: 90000 → "1m30s". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let left = ms;
  let out = '';
  for (const unit of ORDER) {
    const n = Math.floor(left / UNIT_MS[unit]);
    if (n > 0) out += `${n}${unit}`;
    left -= n * UNIT_MS[unit];
  }
  return out;
}
