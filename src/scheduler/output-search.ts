import { asBuffer } from '../common/bytes.js';

/**
 * Pure: finds the lines of an output that hold a text, fed the output's bytes in order as
 * they are read. Each matching line is given once, with the byte it starts at (for a reader to
 * ask for the bytes around it) and its text, clipped. Bytes are compared as written: the
 * search is case-sensitive and knows nothing of ANSI codes.
 */
export interface OutputMatch {
  /** The byte of the output the line starts at. */
  offset: number;
  /** Its 1-based number. */
  line: number;
  /** The line, without its newline, at most MATCH_TEXT_BYTES bytes of it (UTF-8, a broken last character replaced). */
  text: string;
}

/** Bytes of a matching line sent back: enough to recognise it, bounded for a line megabytes long. */
export const MATCH_TEXT_BYTES = 500;
/**
 * Bytes of a line not yet ended held at most. A longer line is searched in parts of about this
 * size, each part starting with the last bytes of the one before (the text's length less one),
 * so a match across a cut is found, and only the line's first MATCH_TEXT_BYTES are kept for its
 * answer: memory stays bounded whatever the line's length.
 */
export const MAX_LINE_BYTES = 1024 * 1024;
const NEWLINE = 0x0a;

export class LineSearch {
  /** Up to one past the limit: that one only says there are more. */
  private readonly found: OutputMatch[] = [];
  /**
   * The bytes of the line not yet ended (never a newline among them), in the pieces they came
   * in, and where it started: joined only once a newline or MAX_LINE_BYTES comes, so a line fed
   * in many small pieces is copied once, not once per piece.
   */
  private carry: Buffer[] = [];
  private carryBytes = 0;
  private carryOffset = 0;
  /** Set while a line longer than MAX_LINE_BYTES is being searched in parts: where it started, and its first bytes. */
  private longLine: { offset: number; head: Buffer } | undefined;
  private lineNumber = 1;
  private readonly needle: Buffer;

  constructor(
    text: string,
    /** Stop collecting after this many. */
    readonly limit: number,
  ) {
    this.needle = Buffer.from(text, 'utf8');
  }

  /** The matching lines, at most `limit`. */
  get matches(): OutputMatch[] {
    return this.found.slice(0, this.limit);
  }

  /** More lines match than the `limit` given back: one past it was found, and the caller may stop reading. */
  get more(): boolean {
    return this.found.length > this.limit;
  }

  /** The next bytes of the output. */
  push(bytes: Uint8Array): void {
    const piece = asBuffer(bytes);
    if (this.carryBytes + piece.length < MAX_LINE_BYTES && piece.indexOf(NEWLINE) < 0) {
      this.carry.push(piece);
      this.carryBytes += piece.length;
      return;
    }
    const chunk = this.carry.length === 0 ? piece : Buffer.concat([...this.carry, piece]);
    const lastNewline = chunk.lastIndexOf(NEWLINE);
    // A part of a long line keeps its last bytes, where a match may start that the next bytes end.
    const cut = lastNewline < 0 ? chunk.length - (this.needle.length - 1) : lastNewline + 1;
    this.scan(chunk.subarray(0, lastNewline < 0 ? chunk.length : cut), this.carryOffset);
    this.longLine = lastNewline < 0 ? (this.longLine ?? { offset: this.carryOffset, head: Buffer.from(chunk.subarray(0, MATCH_TEXT_BYTES)) }) : undefined;
    this.carryOffset += cut;
    // Copied, so that the rest of a large chunk is not kept alive by its small tail.
    const rest = Buffer.from(chunk.subarray(cut));
    this.carry = rest.length === 0 ? [] : [rest];
    this.carryBytes = rest.length;
  }

  /** The output ended: its last line need not end with a newline. */
  end(): void {
    this.scan(Buffer.concat(this.carry), this.carryOffset);
    this.carry = [];
    this.carryBytes = 0;
  }

  /** Whole lines (the first of them maybe the rest of a long line) or a part of a long line, starting at `base`. */
  private scan(lines: Buffer, base: number): void {
    let lineStart = 0;
    let from = 0;
    while (!this.more) {
      const hit = lines.indexOf(this.needle, from);
      if (hit < 0) break;
      this.lineNumber += count(lines, lineStart, hit);
      const start = hit === 0 ? 0 : lines.lastIndexOf(NEWLINE, hit - 1) + 1;
      const newline = lines.indexOf(NEWLINE, hit);
      const end = newline < 0 ? lines.length : newline;
      const long = start === 0 ? this.longLine : undefined;
      if (!long) this.found.push({ offset: base + start, line: this.lineNumber, text: lines.subarray(start, Math.min(end, start + MATCH_TEXT_BYTES)).toString('utf8') });
      // A long line's part after a cut: the line is given once, from its start, whatever part holds the text.
      else if (this.found.at(-1)?.offset !== long.offset) this.found.push({ offset: long.offset, line: this.lineNumber, text: long.head.toString('utf8') });
      lineStart = hit;
      from = end + 1;
    }
    this.lineNumber += count(lines, lineStart, lines.length);
  }
}

/** Newlines in `bytes` from `from` to `to`. */
function count(bytes: Buffer, from: number, to: number): number {
  let n = 0;
  for (let i = bytes.indexOf(NEWLINE, from); i >= 0 && i < to; i = bytes.indexOf(NEWLINE, i + 1)) n++;
  return n;
}
