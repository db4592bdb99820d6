/** Pure: cutting a range of an output's bytes to whole lines, so that a window of it never starts or ends mid-line (or mid-character). */
export interface Part {
  bytes: Uint8Array;
  /** The byte of the output `bytes` starts at. */
  start: number;
  /** The output's size. */
  size: number;
}

const NEWLINE = 0x0a;

/** Drops the partial line a part starting mid-output begins with (kept when the part holds no line end at all). */
export function fromLineStart<T extends Part>(part: T): T {
  if (part.start === 0) return part;
  const cut = part.bytes.indexOf(NEWLINE) + 1;
  if (cut === 0) return part;
  return { ...part, bytes: part.bytes.subarray(cut), start: part.start + cut };
}

/** Drops the partial line a part ending before the output's end finishes with (kept when the part holds no line end at all). */
export function upToLineEnd<T extends Part>(part: T): T {
  if (part.start + part.bytes.byteLength >= part.size) return part;
  const cut = part.bytes.lastIndexOf(NEWLINE) + 1;
  if (cut === 0) return part;
  return { ...part, bytes: part.bytes.subarray(0, cut) };
}
