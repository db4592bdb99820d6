import { Command, Option } from 'commander';
import { DURATION_HELP, duration } from './arguments.js';
import { clientFrom, CONNECTION_HELP, guarded, printJson, withClientOptions, type ClientFlags } from './client-options.js';
import { exitCodeFor } from './format/exit-code.js';
import { formatDuration } from '../common/duration.js';

interface WaitFlags extends ClientFlags {
  timeout?: number;
}

/** `baton wait JOB`: blocks until the job has ended and exits with its exit code. */
export function waitCommand(): Command {
  const command = withClientOptions(
    new Command('wait')
      .description('Wait until a job has ended, then exit with its exit code (as `baton run` would).')
      .argument('<job>', 'the job id')
      .addOption(new Option('--timeout <duration>', `give up after this long, exit 124 with the job still running (${DURATION_HELP})`).argParser(duration))
      .addOption(new Option('--json', 'print the job as JSON when it has ended')),
  ).addHelpText(
    'after',
    `${CONNECTION_HELP}

Examples:
  baton wait "$id"                       # after: id=$(baton run --detach -- ./build.sh)
  baton wait --timeout 10m "$id" || echo "not done"`,
  );
  command.action(
    guarded(async (jobId: string) => {
      const flags = command.opts<WaitFlags>();
      const client = clientFrom(flags);
      const deadline = flags.timeout === undefined ? Infinity : Date.now() + flags.timeout;
      for (;;) {
        const left = Math.max(0, Math.min(300, Math.ceil((deadline - Date.now()) / 1000)));
        const { done, job } = await client.waitJob(jobId, left);
        if (done) {
          if (flags.json) printJson(job);
          else if (job.state !== 'succeeded') process.stderr.write(`baton: job ${jobId} ${job.state}${job.error ? `: ${job.error}` : ''}\n`);
          process.exitCode = exitCodeFor(job) ?? 1;
          return;
        }
        if (Date.now() >= deadline) {
          process.stderr.write(`baton: job ${jobId} still ${job.state} after ${formatDuration(flags.timeout!)}\n`);
          process.exitCode = 124;
          return;
        }
      }
    }),
  );
  return command;
}
