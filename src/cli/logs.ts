import { parsePositiveInt } from '../common/options.js';
import { Command, Option } from 'commander';
import { clientFrom, CONNECTION_HELP, exitQuietlyOnEpipe, guarded, sayReconnecting, withClientOptions, writeChunk, type ClientFlags } from './client-options.js';

interface LogsFlags extends ClientFlags {
  follow?: boolean;
  tail?: number;
  stdout?: boolean;
  stderr?: boolean;
}

export function logsCommand(): Command {
  const command = withClientOptions(
    new Command('logs')
      .description("Print a job's output (stdout and stderr, as written, or one of them) from its first byte.")
      .argument('<job>', 'the job id')
      .addOption(new Option('-f, --follow', 'keep printing new output until the job ends; carries on where it was if its worker restarts'))
      .addOption(new Option('-n, --tail <lines>', 'start at the last this many lines').argParser(parsePositiveInt))
      .addOption(new Option('--stdout', "only the job's stdout").conflicts('stderr'))
      .addOption(new Option('--stderr', "only the job's stderr (to our stdout, for pipes)")),
  ).addHelpText(
    'after',
    `${CONNECTION_HELP}

Examples:
  baton logs 0194c7a2-…
  baton logs -f "$(baton run --detach -- ./long.sh)"
  baton logs --tail 20 "$id"
  baton logs --stderr "$id"
  baton logs "$id" | grep -i error`,
  );

  command.action(
    guarded(async (jobId: string) => {
      const flags = command.opts<LogsFlags>();
      exitQuietlyOnEpipe();
      const stream = flags.stdout ? 'stdout' : flags.stderr ? 'stderr' : undefined;
      const output = clientFrom(flags).output(jobId, { follow: flags.follow === true, tail: flags.tail, stream, onReconnecting: sayReconnecting });
      for await (const chunk of output) await writeChunk(process.stdout, chunk);
    }),
  );
  return command;
}
