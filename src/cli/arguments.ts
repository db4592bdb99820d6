import { InvalidArgumentError } from 'commander';
import { parseDuration } from '../common/duration.js';

/** A parser for commander that reports a bad value as commander's own usage error (exit 1, one line). */
export function argument<T>(parse: (text: string) => T): (text: string) => T {
  return (text) => {
    try {
      return parse(text);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };
}

/** A `<duration>` flag's value in milliseconds: "30s", "5m", "500ms", or a bare number of seconds. */
export const duration = argument((text) => parseDuration(text));

/** The same, refusing 0: an interval, a TTL or a timeout of nothing. */
export const positiveDuration = argument((text) => parseDuration(text, { positive: true }));

/** What every `<duration>` flag's help says about its value. */
/** An age such as a retention (90d): compared with timestamps, never a timer, so longer than a timer allows; 0 allowed. */
export const age = argument((text) => parseDuration(text, { age: true }));

export const DURATION_HELP = 'e.g. 30s, 5m, 1h30m, 500ms; a bare number is seconds';
