import { once } from 'node:events';
import { type Command, Option } from 'commander';
import { BatonClient, BatonConnectionError, DEFAULT_ADDRESS } from '../client/index.js';
import { palette, shouldColor, type Palette } from './format/color.js';
import { describeError } from './format/errors.js';

/** What the operator commands (run, ps, status, logs, stop, workers) share: the client, output, errors. */

export interface ClientFlags {
  addr: string;
  token?: string;
  json?: boolean;
}

export const CONNECTION_HELP = `
The scheduler is --addr (BATON_ADDR, default ${DEFAULT_ADDRESS});
an API token is --token (BATON_TOKEN).`;

const CLIENT_OPTIONS = ['addr', 'token'] as const;

/**
 * --addr and --token, for a command that talks to the scheduler. Given before the subcommand
 * instead (`baton --addr X ps`, see globalClientOptions), they count as the command's own,
 * unless it has them after its name too.
 */
export function withClientOptions(command: Command): Command {
  return command
    .addOption(new Option('--addr <url>', "the scheduler's HTTP address").env('BATON_ADDR').default(DEFAULT_ADDRESS))
    .addOption(new Option('--token <token>', 'API token, sent as a bearer token').env('BATON_TOKEN'))
    .hook('preAction', (self) => {
      for (const name of CLIENT_OPTIONS) {
        if (self.getOptionValueSource(name) === 'cli') continue;
        for (let up = self.parent; up; up = up.parent) {
          if (up.getOptionValueSource(name) !== 'cli') continue;
          self.setOptionValueWithSource(name, up.getOptionValue(name), 'cli');
          break;
        }
      }
    });
}

/** The program's --addr and --token, for any subcommand that talks to the scheduler (as `kubectl --server X get pods`). */
export function globalClientOptions(program: Command): Command {
  return program
    .enablePositionalOptions()
    .addOption(new Option('--addr <url>', "the scheduler's HTTP address, for the subcommand (BATON_ADDR)"))
    .addOption(new Option('--token <token>', 'API token, for the subcommand (BATON_TOKEN)'));
}

export function clientFrom(flags: ClientFlags): BatonClient {
  return new BatonClient({ address: flags.addr, token: flags.token });
}

export function stdoutPalette(): Palette {
  return palette(shouldColor(process.stdout.isTTY, process.env));
}

export function printLines(lines: string[]): void {
  if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Writes a chunk, waiting when the stream's buffer is full. */
export async function writeChunk(stream: NodeJS.WritableStream, chunk: Uint8Array): Promise<void> {
  if (!stream.write(chunk)) await once(stream, 'drain');
}

/** Reading our output stopped (`| head`): stop quietly, as other command-line tools do. */
export function exitQuietlyOnEpipe(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

/** Runs a command's action; a failure is one line on stderr ("baton: …") and exit `code`. */
export function guarded<A extends unknown[]>(action: (...args: A) => Promise<void>, code: (err: unknown) => number = () => 1): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await action(...args);
    } catch (err) {
      process.stderr.write(`baton: ${describeError(err)}\n`);
      process.exit(code(err));
    }
  };
}

/** `onReconnecting` of a followed output: one line on stderr each time it broke off (stdout keeps the job's bytes only). */
export function sayReconnecting(reason: unknown, offset: number): void {
  const why = reason instanceof BatonConnectionError ? reason.reason : describeError(reason);
  process.stderr.write(`baton: the output broke off (${why}); following again from byte ${offset} when it can\n`);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
