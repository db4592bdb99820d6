import { InvalidArgumentError } from 'commander';

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
