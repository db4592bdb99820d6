/**
 * Pure: text with ANSI SGR colour codes → runs of text with a style, for the job page's
 * output view. Other escape sequences (cursor moves, titles) are dropped, never shown raw.
 */
export interface Style {
  fg?: string;
  bg?: string;
  bold?: boolean;
  dim?: boolean;
  italic?: boolean;
  underline?: boolean;
}

export interface Run {
  text: string;
  style: Style;
}

const NAMES = ['black', 'red', 'green', 'yellow', 'blue', 'magenta', 'cyan', 'white'] as const;

// CSI … final byte, OSC … BEL/ST, and lone two-byte escapes.
const ESCAPE = /\x1b(?:\[([0-9;?]*)([@-~])|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])/g;

function apply(style: Style, params: string): Style {
  const codes = params === '' ? [0] : params.split(';').map((p) => (p === '' ? 0 : Number(p)));
  let s: Style = { ...style };
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i]!;
    if (c === 0) s = {};
    else if (c === 1) s.bold = true;
    else if (c === 2) s.dim = true;
    else if (c === 3) s.italic = true;
    else if (c === 4) s.underline = true;
    else if (c === 22) {
      delete s.bold;
      delete s.dim;
    } else if (c === 23) delete s.italic;
    else if (c === 24) delete s.underline;
    else if (c >= 30 && c <= 37) s.fg = NAMES[c - 30];
    else if (c >= 90 && c <= 97) s.fg = `bright-${NAMES[c - 90]}`;
    else if (c === 39) delete s.fg;
    else if (c >= 40 && c <= 47) s.bg = NAMES[c - 40];
    else if (c >= 100 && c <= 107) s.bg = `bright-${NAMES[c - 100]}`;
    else if (c === 49) delete s.bg;
    else if ((c === 38 || c === 48) && codes[i + 1] === 5) {
      // 256 colours: kept as the palette index.
      const key = c === 38 ? 'fg' : 'bg';
      s[key] = `256-${codes[i + 2] ?? 0}`;
      i += 2;
    } else if ((c === 38 || c === 48) && codes[i + 1] === 2) {
      const key = c === 38 ? 'fg' : 'bg';
      s[key] = `rgb(${codes[i + 2] ?? 0},${codes[i + 3] ?? 0},${codes[i + 4] ?? 0})`;
      i += 4;
    }
  }
  return s;
}

/** Parses `text`, starting in `style` (the style the previous chunk ended in); returns the runs and the style at the end. */
export function parseAnsi(text: string, style: Style = {}): { runs: Run[]; style: Style } {
  const runs: Run[] = [];
  let at = 0;
  let current = style;
  const push = (t: string): void => {
    if (t === '') return;
    const last = runs[runs.length - 1];
    if (last && JSON.stringify(last.style) === JSON.stringify(current)) last.text += t;
    else runs.push({ text: t, style: current });
  };
  for (const m of text.matchAll(ESCAPE)) {
    push(text.slice(at, m.index));
    if (m[2] === 'm') current = apply(current, m[1] ?? '');
    at = m.index! + m[0].length;
  }
  push(text.slice(at));
  return { runs, style: current };
}

/** CSS class names for a style (ansi-fg-red, ansi-bold, …); rgb colours go through `color` instead. */
export function styleClasses(style: Style): string {
  const out: string[] = [];
  if (style.fg && !style.fg.startsWith('rgb')) out.push(`ansi-fg-${style.fg}`);
  if (style.bg && !style.bg.startsWith('rgb')) out.push(`ansi-bg-${style.bg}`);
  for (const k of ['bold', 'dim', 'italic', 'underline'] as const) if (style[k]) out.push(`ansi-${k}`);
  return out.join(' ');
}
