/** Where a backward scan for the start of an output's last lines got to. */
export type TailScan = { start: number } | { needed: number };

/**
 * Pure: scanning `bytes` (the output's bytes from offset `base`) from their end back for the
 * `needed`th newline: the offset just after it, where the wanted lines begin. When `bytes`
 * hold fewer newlines and do not begin the output, how many are still needed further back.
 */
export function scanTail(bytes: Uint8Array, base: number, needed: number): TailScan {
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i] === 0x0a && --needed === 0) return { start: base + i + 1 };
  }
  return base === 0 ? { start: 0 } : { needed };
}

/** Bytes read back from the end per step: the most a tail holds in memory whatever the output's size. */
export const TAIL_WINDOW_BYTES = 64 * 1024;

/**
 * The offset the last `lines` lines of an output of `size` bytes begin at, reading it backwards
 * through `read` in windows of TAIL_WINDOW_BYTES that do not overlap. A final newline ends the
 * last line rather than starting another, so it is one more newline to pass.
 */
export async function findTailStart(size: number, lines: number, read: (offset: number, length: number) => Promise<Uint8Array>): Promise<number> {
  let needed = lines;
  for (let end = size; end > 0; ) {
    const base = Math.max(0, end - TAIL_WINDOW_BYTES);
    const bytes = await read(base, end - base);
    if (end === size && bytes[bytes.length - 1] === 0x0a) needed++;
    const scan = scanTail(bytes.subarray(0, end - base), base, needed);
    if ('start' in scan) return scan.start;
    needed = scan.needed;
    end = base;
  }
  return 0;
}
