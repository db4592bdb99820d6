/**
 * Pure: a job's environment as `baton run` takes it, like `docker run`: `-e KEY=VALUE`,
 * `-e KEY` (this shell's value of KEY), and `--env-file` lines of the same two forms.
 */

/** `KEY=VALUE`, or `KEY` alone for `env`'s value of it; `where` (a file's line) starts an error's message. */
export function envPair(text: string, env: NodeJS.ProcessEnv, where?: string): [string, string] {
  const at = where ? `${where}: ` : '';
  const i = text.indexOf('=');
  const key = i < 0 ? text : text.slice(0, i);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new Error(`${at}not KEY=VALUE or KEY: "${text}"`);
  if (i >= 0) return [key, text.slice(i + 1)];
  const value = env[key];
  if (value === undefined) throw new Error(`${at}${key} is not set here (to pass it empty, write ${key}=)`);
  return [key, value];
}

/** An env file: a `KEY=VALUE` or `KEY` a line; blank lines and lines starting with # are skipped. Values are taken as written (no quotes removed). */
export function parseEnvFile(text: string, env: NodeJS.ProcessEnv, file: string): Record<string, string> {
  const vars: Record<string, string> = {};
  text.split(/\r?\n/).forEach((line, n) => {
    const trimmed = line.trimStart();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const [key, value] = envPair(trimmed, env, `${file} line ${n + 1}`);
    vars[key] = value;
  });
  return vars;
}
