import type { Option } from 'commander';

/**
 * Pure: the checked values of one [section] of baton.toml, for a command's options. A key is
 * an option's long name ("heartbeat-ttl" or "heartbeat_ttl"); its value is read by the same
 * parser as the flag. Anything the file says that no option reads is refused, so a misspelt
 * key cannot be silently ignored.
 */

export const CONFIG_SECTIONS = ['scheduler', 'worker'] as const;
export type ConfigSection = (typeof CONFIG_SECTIONS)[number];

/**
 * What TOML value an option takes, by the placeholder in its flags (`--capacity <n>`):
 * whole numbers are TOML integers; durations, sizes and CPUs a string or a number (seconds,
 * bytes, CPUs); lists an array of strings or the flag's comma-separated text; labels and I/O
 * limits a table or the flag's text. Every other option takes a string, switches true or false.
 */
type Shape = 'integer' | 'scalar' | 'list' | 'labels' | 'table' | 'string';
const SHAPES: Record<string, Shape> = {
  n: 'integer',
  duration: 'scalar',
  size: 'scalar',
  cpus: 'scalar',
  list: 'list',
  names: 'list',
  addr: 'list',
  command: 'list',
  'key=value': 'labels',
  limits: 'table',
};

/** Values of the options [section] sets, by attribute name (what `command.opts()` holds). */
export function configValues(doc: Record<string, unknown>, section: ConfigSection, options: readonly Option[]): Map<string, unknown> {
  const sections: readonly string[] = CONFIG_SECTIONS;
  for (const [name, value] of Object.entries(doc)) {
    const known = sections.includes(name);
    if (known && isTable(value)) continue;
    if (known) throw new Error(`${name} must be a table: [${name}]`);
    if (isTable(value)) throw new Error(`unknown section [${name}]${suggestion(name, sections, (s) => `[${s}]`)}; the sections are [scheduler] and [worker]`);
    throw new Error(`unknown key "${name}" at the top level; options go in [scheduler] or [worker]`);
  }
  const table = doc[section];
  const values = new Map<string, unknown>();
  if (table === undefined) return values;
  const byKey = new Map<string, Option>();
  for (const option of options) if (option.long && option.long !== '--config') byKey.set(option.long.slice(2), option);
  const givenAs = new Map<string, string>();
  for (const [key, value] of Object.entries(table as Record<string, unknown>)) {
    const name = key.replaceAll('_', '-');
    const option = byKey.get(name);
    if (!option) {
      if (name === 'config') throw new Error(`[${section}] config names the file itself; it cannot be set inside it`);
      const spell = key.includes('_') ? (k: string) => k.replaceAll('-', '_') : (k: string) => k;
      throw new Error(`unknown key "${key}" in [${section}]${suggestion(name, [...byKey.keys()], spell)}`);
    }
    const attribute = option.attributeName();
    const earlier = givenAs.get(attribute);
    if (earlier !== undefined) throw new Error(`[${section}] sets ${earlier} and ${key}: they are one option; keep one`);
    givenAs.set(attribute, key);
    try {
      values.set(attribute, optionValue(option, value));
    } catch (err) {
      throw new Error(`[${section}] ${key} = ${shown(value)}: ${(err as Error).message}`);
    }
  }
  return values;
}

function optionValue(option: Option, value: unknown): unknown {
  if (option.isBoolean() || option.negate) {
    if (typeof value !== 'boolean') throw new Error(`must be true or false, not ${kind(value)}`);
    return option.negate ? !value : value;
  }
  const parse = (text: string): unknown => (option.parseArg ? option.parseArg(text, option.defaultValue) : text);
  const placeholder = /<([^>]+)>/.exec(option.flags)?.[1] ?? '';
  const shape = SHAPES[placeholder.replace(/[[\].,…]+$/, '')] ?? 'string';
  switch (shape) {
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) throw new Error(`must be a whole number (a TOML integer, without quotes), not ${kind(value)}`);
      return parse(String(value));
    case 'scalar':
      if (typeof value === 'number') return option.parseArg ? parse(String(value)) : value;
      if (typeof value === 'string') return parse(value);
      throw new Error(`must be a string or a number, not ${kind(value)}`);
    case 'list':
      if (typeof value === 'string') return parse(value);
      if (Array.isArray(value) && value.every((x) => typeof x === 'string')) return value;
      throw new Error(`must be an array of strings (or one comma-separated string), not ${kind(value)}`);
    case 'labels':
    case 'table':
      if (typeof value === 'string') return parse(value);
      if (isTable(value) && Object.values(value).every((x) => typeof x === 'string' || (shape === 'table' && typeof x === 'number'))) return { ...value };
      throw new Error(`must be a table of ${shape === 'labels' ? 'strings' : 'strings or numbers'} (or the flag's text), not ${kind(value)}`);
    case 'string':
      if (typeof value === 'string') return parse(value);
      throw new Error(`must be a string, not ${kind(value)}`);
  }
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function kind(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return 'a date';
  if (isTable(value)) return 'a table';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number' || typeof value === 'bigint') return Number.isInteger(Number(value)) ? 'an integer' : 'a number';
  return `a ${typeof value}`;
}

function shown(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : isTable(value) || Array.isArray(value) ? kind(value).replace(/^an? /, '') : String(value);
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

/**
 * BATON_* variables no Baton command reads, each with what it may have meant to be. They are
 * warned about, not refused: the environment is shared with other programs and with jobs,
 * and a stray name in it is not this process's configuration the way its own file is.
 */
export function unknownVariables(names: readonly string[], known: ReadonlySet<string>): string[] {
  return names
    .filter((name) => name.startsWith('BATON_') && !known.has(name))
    .sort()
    .map((name) => `${name} is not a Baton variable${suggestion(name, [...known], (k) => k)}`);
}

/** "; did you mean X?" when one known name is within a couple of typos of `name`. */
function suggestion(name: string, known: readonly string[], spell: (k: string) => string): string {
  let best: string | undefined;
  let bestDistance = Math.min(3, Math.ceil(name.length / 3));
  for (const candidate of known) {
    const d = editDistance(name, candidate);
    if (d < bestDistance || (d === bestDistance && best === undefined)) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best === undefined ? '' : `; did you mean ${spell(best)}?`;
}

/** Levenshtein distance, with a swap of two neighbouring letters counted as one edit. */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}
