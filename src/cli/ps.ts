import { Command, InvalidArgumentError, Option } from 'commander';
import { JOB_STATES, type BatonClient, type Job, type JobState, type ListJobsFilter } from '../client/index.js';
import { parsePositiveInt } from '../common/options.js';
import { clientFrom, CONNECTION_HELP, guarded, printJson, printLines, stdoutPalette, withClientOptions, type ClientFlags } from './client-options.js';
import { jobsTable } from './format/views.js';

interface PsFlags extends ClientFlags {
  state?: JobState[];
  worker?: string;
  name?: string;
  limit: number;
  output?: 'table' | 'wide' | 'json';
}

/** `-s running,failed` or `-s running -s failed`. */
function collectStates(text: string, previous: JobState[] | undefined): JobState[] {
  const states = text.split(',').map((s) => s.trim());
  const unknown = states.find((s) => !(JOB_STATES as string[]).includes(s));
  if (unknown !== undefined) throw new InvalidArgumentError(`"${unknown}" is not a job state (${JOB_STATES.join(', ')})`);
  return [...new Set([...(previous ?? []), ...(states as JobState[])])];
}

/** The newest `limit` jobs matching the filter (one state, or any), and whether there are more. */
async function newest(client: BatonClient, filter: ListJobsFilter, limit: number): Promise<{ jobs: Job[]; more: boolean }> {
  const jobs: Job[] = [];
  for await (const page of client.jobPages({ ...filter, limit: Math.min(limit, MAX_PAGE) })) {
    jobs.push(...page.jobs.slice(0, limit - jobs.length));
    if (jobs.length >= limit) return { jobs, more: page.next_cursor !== null || page.jobs.length > jobs.length };
  }
  return { jobs, more: false };
}

const MAX_PAGE = 500;

export function psCommand(): Command {
  const command = withClientOptions(
    new Command('ps')
      .description('List jobs, newest first.')
      .addOption(new Option('-s, --state <state>', 'only jobs in this state; repeatable, or several comma-separated (running,failed)').choices(JOB_STATES).argParser(collectStates))
      .addOption(new Option('-w, --worker <id>', 'only jobs of this worker'))
      .addOption(new Option('--name <name>', 'only jobs of this name (baton run --name)'))
      .addOption(new Option('-n, --limit <n>', 'at most this many jobs').argParser(parsePositiveInt).default(20))
      .addOption(new Option('-o, --output <format>', 'table, wide (the attempt, name, labels, whole command lines, absolute UTC times) or json').choices(['table', 'wide', 'json']))
      .addOption(new Option('--json', 'print the jobs as a JSON array (-o json)')),
  ).addHelpText(
    'after',
    `${CONNECTION_HELP}

Examples:
  baton ps
  baton ps --state running --worker worker-1
  baton ps --state waiting            # each with what it waits for
  baton ps --state failed --limit 100 --json | jq -r '.[].id'
  baton ps -s failed,timed_out -o wide
  baton ps --name nightly`,
  );

  command.action(
    guarded(async () => {
      const flags = command.opts<PsFlags>();
      const client = clientFrom(flags);
      // The API filters by one state: several are a query each, merged newest first.
      const lists = await Promise.all((flags.state ?? [undefined]).map((state) => newest(client, { state, worker_id: flags.worker, name: flags.name }, flags.limit)));
      const all = lists.flatMap((l) => l.jobs).sort((a, b) => b.created_at.localeCompare(a.created_at) || (a.id < b.id ? 1 : -1));
      const jobs = all.slice(0, flags.limit);
      const more = all.length > jobs.length || lists.some((l) => l.more);
      if (flags.json || flags.output === 'json') return printJson(jobs);
      if (jobs.length === 0) {
        process.stderr.write('no jobs\n');
        return;
      }
      printLines(jobsTable(jobs, Date.now(), stdoutPalette(), flags.output === 'wide'));
      if (more) process.stderr.write(`(the newest ${flags.limit}; --limit N shows more)\n`);
    }),
  );
  return command;
}
