/**
 * Pure: where the last `lines` lines of an output begin, from `bytes` (the output's bytes
 * from offset `base` to its end). A final newline ends the last line rather than starting
 * another. Undefined when `bytes` holds fewer line starts than that and does not begin the
 * output: the caller reads further back.
 */
export function tailStart(bytes: Uint8Array, base: number, lines: number): number | undefined {
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === 0x0a) end--;
  let found = 0;
  for (let i = end - 1; i >= 0; i--) {
    if (bytes[i] === 0x0a && ++found === lines) return base + i + 1;
  }
  return base === 0 ? 0 : undefined;
}

/** Bytes read back from the end at first; each miss reads four times as far. */
export const TAIL_WINDOW_BYTES = 64 * 1024;

/** The offset the last `lines` lines of an output of `size` bytes begin at, reading ranges through `read`. */
export async function findTailStart(size: number, lines: number, read: (offset: number, length: number) => Promise<Uint8Array>): Promise<number> {
  for (let window = TAIL_WINDOW_BYTES; ; window *= 4) {
    const base = Math.max(0, size - window);
    const start = tailStart(await read(base, size - base), base, lines);
    if (start !== undefined) return start;
  }
}
