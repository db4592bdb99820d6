import { readFileSync, existsSync } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import type { Command } from 'commander';
import { configValues, unknownVariables, type ConfigSection } from './config-file.js';

/**
 * Fills options that were given neither as a flag nor through BATON_* (commander's
 * `.env()`) from the `[section]` of the TOML config file: a flag beats the
 * environment, which beats the file, which beats the default.
 *
 * The file is `--config`/BATON_CONFIG, else ./baton.toml when it exists. Keys use the
 * flag's long name ("jobs-dir" or "jobs_dir"). The whole section is checked against
 * `owner`'s options (the command the section belongs to, when `command` reads only some
 * of it): an unknown key or a value of the wrong type stops the command, naming the file.
 */
export function applyConfigFile(command: Command, section: ConfigSection, owner: Command = command): void {
  const explicit = (command.opts() as { config?: string }).config;
  const file = explicit ?? (existsSync('baton.toml') ? 'baton.toml' : undefined);
  if (!file) return;
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  let values: Map<string, unknown>;
  try {
    values = configValues(doc, section, owner.options);
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
  for (const option of command.options) {
    const key = option.attributeName();
    const source = command.getOptionValueSource(key);
    if (source === 'cli' || source === 'env' || !values.has(key)) continue;
    command.setOptionValueWithSource(key, values.get(key), 'config');
  }
}

/** Variables read outside commander's options: logging, auth, `baton dev`'s children, and what a worker sets for its jobs. */
const OTHER_VARIABLES = ['BATON_LOG_LEVEL', 'BATON_LOG_FORMAT', 'BATON_NO_AUTH', 'BATON_EXIT_WITH_STDIN', 'BATON_JOB_ID'];

/** What to warn about in this process's BATON_* variables: names no option of any `baton` command reads. */
export function environmentWarnings(command: Command): string[] {
  let root = command;
  while (root.parent) root = root.parent;
  const known = new Set(OTHER_VARIABLES);
  const visit = (c: Command): void => {
    for (const option of c.options) if (option.envVar) known.add(option.envVar);
    for (const sub of c.commands) visit(sub);
  };
  visit(root);
  return unknownVariables(Object.keys(process.env), known);
}

/** "100MiB", "64k", "1G" or a bare number of bytes → bytes. */
export function parseBytes(text: string): number {
  const m = /^(\d+)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?$/i.exec(text.trim());
  if (!m) throw new Error(`not a size: "${text}" (use e.g. 64MiB, 512k)`);
  const unit = (m[2] ?? 'b').toLowerCase()[0]!;
  const bytes = Number(m[1]) * { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[unit]!;
  // Sizes reach the job launcher, which takes only whole numbers it can count exactly.
  if (!Number.isSafeInteger(bytes)) throw new Error(`too large a size: "${text}" (at most ${Number.MAX_SAFE_INTEGER} bytes)`);
  return bytes;
}

/** "k=v,k2=v2" or repeated "k=v" flags → a record. */
export function parseLabels(text: string, previous: Record<string, string> = {}): Record<string, string> {
  const out = { ...previous };
  for (const pair of text.split(',').filter(Boolean)) {
    const i = pair.indexOf('=');
    if (i <= 0) throw new Error(`not a label: "${pair}" (use key=value)`);
    out[pair.slice(0, i).trim()] = pair.slice(i + 1).trim();
  }
  return out;
}

export function parsePositiveInt(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`not a positive whole number: "${text}"`);
  return n;
}
