import { readFileSync, existsSync } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import type { Command } from 'commander';

/**
 * Fills options that were given neither as a flag nor through BATON_* (commander's
 * `.env()`) from the `[section]` of the TOML config file: a flag beats the
 * environment, which beats the file, which beats the default.
 *
 * The file is `--config`/BATON_CONFIG, else ./baton.toml when it exists. Keys use the
 * flag's long name ("jobs-dir" or "jobs_dir").
 */
export function applyConfigFile(command: Command, section: string): void {
  const explicit = (command.opts() as { config?: string }).config;
  const file = explicit ?? (existsSync('baton.toml') ? 'baton.toml' : undefined);
  if (!file) return;
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  const table = doc[section];
  if (table === undefined) return;
  if (typeof table !== 'object' || table === null || Array.isArray(table)) {
    throw new Error(`config file ${file}: [${section}] must be a table`);
  }
  const values = table as Record<string, unknown>;
  for (const option of command.options) {
    const key = option.attributeName();
    const source = command.getOptionValueSource(key);
    if (source === 'cli' || source === 'env') continue;
    const long = option.long?.replace(/^--/, '') ?? key;
    const value = values[long] ?? values[long.replaceAll('-', '_')];
    if (value === undefined) continue;
    const parsed = option.parseArg && typeof value === 'string' ? option.parseArg(value, undefined) : value;
    command.setOptionValueWithSource(key, parsed, 'config');
  }
}

/** "5s", "250ms", "2m", "1h" or a bare number of milliseconds → milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new Error(`not a duration: "${text}" (use e.g. 500ms, 5s, 2m)`);
  const n = Number(m[1]);
  const unit = m[2] ?? 'ms';
  return Math.round(n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit]!);
}

/** "100MiB", "64k", "1G" or a bare number of bytes → bytes. */
export function parseBytes(text: string): number {
  const m = /^(\d+)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?$/i.exec(text.trim());
  if (!m) throw new Error(`not a size: "${text}" (use e.g. 64MiB, 512k)`);
  const unit = (m[2] ?? 'b').toLowerCase()[0]!;
  return Number(m[1]) * { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[unit]!;
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
