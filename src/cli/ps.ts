import { Command, Option } from 'commander';
import { JOB_STATES, type Job, type JobState } from '../client/index.js';
import { parsePositiveInt } from '../common/options.js';
import { clientFrom, CONNECTION_HELP, guarded, printJson, printLines, stdoutPalette, withClientOptions, type ClientFlags } from './client-options.js';
import { jobsTable } from './format/views.js';

interface PsFlags extends ClientFlags {
  state?: JobState;
  worker?: string;
  limit: number;
}

const MAX_PAGE = 500;

export function psCommand(): Command {
  const command = withClientOptions(
    new Command('ps')
      .description('List jobs, newest first.')
      .addOption(new Option('-s, --state <state>', 'only jobs in this state').choices(JOB_STATES))
      .addOption(new Option('-w, --worker <id>', 'only jobs of this worker'))
      .addOption(new Option('-n, --limit <n>', 'at most this many jobs').argParser(parsePositiveInt).default(20))
      .addOption(new Option('--json', 'print the jobs as a JSON array')),
  ).addHelpText(
    'after',
    `${CONNECTION_HELP}

Examples:
  baton ps
  baton ps --state running --worker worker-1
  baton ps --state waiting            # each with what it waits for
  baton ps --state failed --limit 100 --json | jq -r '.[].id'`,
  );

  command.action(
    guarded(async () => {
      const flags = command.opts<PsFlags>();
      const client = clientFrom(flags);
      const jobs: Job[] = [];
      let more = false;
      for await (const page of client.jobPages({ state: flags.state, worker_id: flags.worker, limit: Math.min(flags.limit, MAX_PAGE) })) {
        jobs.push(...page.jobs.slice(0, flags.limit - jobs.length));
        if (jobs.length >= flags.limit) {
          more = page.next_cursor !== null || page.jobs.length > jobs.length;
          break;
        }
      }
      if (flags.json) return printJson(jobs);
      if (jobs.length === 0) {
        process.stderr.write('no jobs\n');
        return;
      }
      printLines(jobsTable(jobs, Date.now(), stdoutPalette()));
      if (more) process.stderr.write(`(the newest ${flags.limit}; --limit N shows more)\n`);
    }),
  );
  return command;
}
