import { BatonError } from '../../common/errors.js';

/**
 * Pure: HTTP `Range` (RFC 9110 §14) for a job's output. One range only: a multipart answer
 * would need a body format no Baton reader wants, so several ranges are refused (400) rather
 * than ignored, which would send the whole output to a caller that asked for little of it. A
 * unit other than `bytes` is ignored, as RFC 9110 requires: the whole output is sent.
 */
export type ByteRange =
  /** `bytes=first-` or `bytes=first-last` (last inclusive, as written). */
  | { first: number; last?: number }
  /** `bytes=-length`: the last `length` bytes. */
  | { suffix: number };

/** The part of an output of `size` bytes a range picks: `start` inclusive, `end` exclusive. */
export interface PickedRange {
  start: number;
  end: number;
  size: number;
}

/** The ask for bytes past the output's end: the answer names the output's size (`Content-Range: bytes *\/size`). */
export class UnsatisfiableRange extends BatonError {
  constructor(
    readonly size: number,
    range: string,
  ) {
    super('RANGE_NOT_SATISFIABLE', `the range ${range} is outside the output, which has ${size} bytes now`);
  }
}

const DIGITS = /^\d{1,15}$/;

function bad(header: string, why: string): BatonError {
  return new BatonError('BAD_REQUEST', `Range "${header.slice(0, 100)}" ${why}`);
}

/** The range a `Range` header asks for; undefined for none, or a unit other than bytes; BAD_REQUEST for a malformed one or several. */
export function parseRange(header: string | undefined): ByteRange | undefined {
  if (header === undefined) return undefined;
  const eq = header.indexOf('=');
  if (eq < 0) throw bad(header, 'is not unit=ranges (e.g. bytes=0-1023)');
  if (header.slice(0, eq).trim().toLowerCase() !== 'bytes') return undefined;
  const specs = header
    .slice(eq + 1)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (specs.length === 0) throw bad(header, 'names no range');
  if (specs.length > 1) throw bad(header, 'asks for several ranges: ask for one at a time');
  const spec = specs[0]!;
  const dash = spec.indexOf('-');
  const firstText = spec.slice(0, dash);
  const lastText = spec.slice(dash + 1);
  if (dash < 0 || (firstText !== '' && !DIGITS.test(firstText)) || (lastText !== '' && !DIGITS.test(lastText)) || (firstText === '' && lastText === '')) {
    throw bad(header, 'is not bytes=first-last, bytes=first- or bytes=-length');
  }
  if (firstText === '') return { suffix: Number(lastText) };
  const first = Number(firstText);
  if (lastText === '') return { first };
  const last = Number(lastText);
  if (last < first) throw bad(header, 'ends before it starts');
  return { first, last };
}

/** The bytes of an output of `size` bytes that `range` picks; UnsatisfiableRange when none. */
export function pickRange(range: ByteRange, size: number): PickedRange {
  if ('suffix' in range) {
    if (range.suffix === 0 || size === 0) throw new UnsatisfiableRange(size, `bytes=-${range.suffix}`);
    return { start: Math.max(0, size - range.suffix), end: size, size };
  }
  if (range.first >= size) throw new UnsatisfiableRange(size, `bytes=${range.first}-${range.last ?? ''}`);
  return { start: range.first, end: range.last === undefined ? size : Math.min(range.last + 1, size), size };
}

/** The `Content-Range` of a 206 answer. */
export function contentRange(picked: PickedRange): string {
  return `bytes ${picked.start}-${picked.end - 1}/${picked.size}`;
}
