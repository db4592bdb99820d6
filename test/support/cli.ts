import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `baton …` as a process, with BATON_ADDR pointing at `api`; resolves when it exits (`stopAfterMs`: Ctrl-C it then,
 * for a command that follows). `input` is piped to its stdin (absent: none).
 */
export function baton(args: string[], opts: { api?: string; env?: Record<string, string>; stopAfterMs?: number; input?: string | Uint8Array } = {}): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, BATON_LOG_LEVEL: 'warn', ...opts.env };
  delete env.BATON_TOKEN;
  delete env.FORCE_COLOR;
  if (opts.api) env.BATON_ADDR = opts.api;
  Object.assign(env, opts.env);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    // EPIPE when it exits before reading everything (a refusal): its exit says why.
    child.stdin?.on('error', () => {});
    child.stdin?.end(opts.input);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const stop = opts.stopAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGINT'), opts.stopAfterMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      clearTimeout(stop);
      resolve({ code, stdout, stderr });
    });
  });
}
