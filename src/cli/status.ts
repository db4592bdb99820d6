import { Command, Option } from 'commander';
import { clientFrom, CONNECTION_HELP, guarded, printJson, printLines, stdoutPalette, withClientOptions, type ClientFlags } from './client-options.js';
import { jobStatus } from './format/views.js';

export function statusCommand(): Command {
  const command = withClientOptions(
    new Command('status')
      .description('Show one job: its state, command, times, exit code, error and attempts.')
      .argument('<job>', 'the job id')
      .addOption(new Option('--json', 'print the job as JSON (the GET /v1/jobs/:id answer)')),
  ).addHelpText(
    'after',
    `${CONNECTION_HELP}

Examples:
  baton status 0194c7a2-…
  baton status --json "$id" | jq -r .state`,
  );

  command.action(
    guarded(async (jobId: string) => {
      const flags = command.opts<ClientFlags>();
      const job = await clientFrom(flags).getJob(jobId);
      if (flags.json) printJson(job);
      else printLines(jobStatus(job, Date.now(), stdoutPalette()));
    }),
  );
  return command;
}
