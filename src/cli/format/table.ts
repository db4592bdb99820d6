/** Pure: aligned text tables whose cells may carry ANSI colour. */

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

/** The width a string takes on a terminal (colour codes take none). */
export function visibleWidth(text: string): number {
  return [...text.replace(ANSI, '')].length;
}

/** Cuts `text` to `max` characters, ending in "…" when cut. */
export function truncate(text: string, max: number): string {
  const chars = [...text];
  if (chars.length <= max) return text;
  if (max <= 1) return chars.slice(0, max).join('');
  return `${chars.slice(0, max - 1).join('')}…`;
}

/**
 * Rows of cells → lines, each column as wide as its widest cell, columns three spaces
 * apart, no trailing spaces. The header is the first row.
 */
export function renderTable(rows: readonly (readonly string[])[], gap = 3): string[] {
  const columns = Math.max(0, ...rows.map((r) => r.length));
  const widths = Array.from({ length: columns }, (_, i) => Math.max(0, ...rows.map((r) => visibleWidth(r[i] ?? ''))));
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i]! - visibleWidth(cell) + gap)))
      .join('')
      .trimEnd(),
  );
}
