import { parsePositiveInt } from '../common/options.js';
import { Command, Option } from 'commander';
import { clientFrom, CONNECTION_HELP, exitQuietlyOnEpipe, guarded, sayReconnecting, withClientOptions, writeChunk, type ClientFlags } from './client-options.js';

interface LogsFlags extends ClientFlags {
  follow?: boolean;
  tail?: number;
}

export function logsCommand(): Command {
  const command = withClientOptions(
    new Command('logs')
      .description("Print a job's output (stdout and stderr, as written) from its first byte.")
      .argument('<job>', 'the job id')
      .addOption(new Option('-f, --follow', 'keep printing new output until the job ends; carries on where it was if its worker restarts'))
      .addOption(new Option('-n, --tail <lines>', 'start at the last this many lines').argParser(parsePositiveInt)),
  ).addHelpText(
    'after',
    `${CONNECTION_HELP}

Examples:
  baton logs 0194c7a2-…
  baton logs -f "$(baton run --detach -- ./long.sh)"
  baton logs --tail 20 "$id"
  baton logs "$id" | grep -i error`,
  );

  command.action(
    guarded(async (jobId: string) => {
      const flags = command.opts<LogsFlags>();
      exitQuietlyOnEpipe();
      const output = clientFrom(flags).output(jobId, { follow: flags.follow === true, tail: flags.tail, onReconnecting: sayReconnecting });
      for await (const chunk of output) await writeChunk(process.stdout, chunk);
    }),
  );
  return command;
}
