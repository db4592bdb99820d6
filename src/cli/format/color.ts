/** Pure: when to colour, and the colours. */

export interface ColorEnv {
  NO_COLOR?: string;
  FORCE_COLOR?: string;
  TERM?: string;
}

/** Colour only on a terminal, never with NO_COLOR (https://no-color.org) or TERM=dumb; FORCE_COLOR forces it. */
export function shouldColor(isTTY: boolean | undefined, env: ColorEnv): boolean {
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '' && env.FORCE_COLOR !== '0') return true;
  if (env.TERM === 'dumb') return false;
  return isTTY === true;
}

export type Paint = (text: string) => string;

export interface Palette {
  bold: Paint;
  dim: Paint;
  red: Paint;
  green: Paint;
  yellow: Paint;
  blue: Paint;
  cyan: Paint;
}

const CODES: Record<keyof Palette, [number, number]> = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  blue: [34, 39],
  cyan: [36, 39],
};

export function palette(enabled: boolean): Palette {
  const out = {} as Palette;
  for (const [name, [on, off]] of Object.entries(CODES) as [keyof Palette, [number, number]][]) {
    out[name] = enabled ? (t) => (t === '' ? t : `\u001b[${on}m${t}\u001b[${off}m`) : (t) => t;
  }
  return out;
}

const STATE_COLORS: Record<string, keyof Palette> = {
  waiting: 'dim',
  queued: 'dim',
  dispatched: 'dim',
  running: 'cyan',
  unknown: 'yellow',
  succeeded: 'green',
  failed: 'red',
  stopped: 'yellow',
  timed_out: 'red',
  lost: 'red',
  skipped: 'yellow',
  up: 'green',
  down: 'red',
  deregistered: 'dim',
};

/** A job or worker state in its colour (unknown states as they are). */
export function paintState(p: Palette, state: string): string {
  const color = STATE_COLORS[state];
  return color ? p[color](state) : state;
}
