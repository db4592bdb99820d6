import { Command, Option } from 'commander';
import { isFinalJobState, type JobDetail } from '../client/index.js';
import { DURATION_HELP, duration } from './arguments.js';
import { clientFrom, CONNECTION_HELP, guarded, printJson, sleep, withClientOptions, type ClientFlags } from './client-options.js';
import { paintState, palette, shouldColor } from './format/color.js';

interface StopFlags extends ClientFlags {
  grace?: number;
}

export function stopCommand(): Command {
  const command = withClientOptions(
    new Command('stop')
      .description('Stop a job: SIGTERM to its whole process group, SIGKILL after the grace period. Waits until it has ended.')
      .argument('<job>', 'the job id')
      .addOption(new Option('--grace <duration>', `time between SIGTERM and SIGKILL (${DURATION_HELP}; default: the worker's --stop-grace)`).argParser(duration))
      .addOption(new Option('--json', 'print the job as JSON once it has ended')),
  ).addHelpText(
    'after',
    `
Stopping a job that has already ended is an error (exit 1).
${CONNECTION_HELP}

Examples:
  baton stop 0194c7a2-…
  baton stop --grace 30s "$id"
  baton ps --state running --worker worker-1 --json | jq -r '.[].id' | xargs -n1 baton stop`,
  );

  command.action(
    guarded(async (jobId: string) => {
      const flags = command.opts<StopFlags>();
      const client = clientFrom(flags);
      let job: JobDetail = await client.stopJob(jobId, { graceMs: flags.grace });
      // The worker answers once the signal is sent; the end follows within the grace period.
      const deadline = Date.now() + (flags.grace ?? 10_000) + 10_000;
      for (let delay = 20; !isFinalJobState(job.state) && Date.now() < deadline; delay = Math.min(delay * 2, 500)) {
        await sleep(delay);
        job = await client.getJob(jobId);
      }
      if (flags.json) return printJson(job);
      const p = palette(shouldColor(process.stdout.isTTY, process.env));
      const how = job.error ? ` (${job.error})` : '';
      if (isFinalJobState(job.state)) process.stdout.write(`${jobId} ${paintState(p, job.state)}${how}\n`);
      else process.stdout.write(`${jobId} still ${paintState(p, job.state)}: stop sent; \`baton status ${jobId}\` shows when it ends\n`);
    }),
  );
  return command;
}
