import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import type { SubmitJobRequest } from '../client/index.js';
import { parseLabels } from '../common/options.js';
import { argument, DURATION_HELP, positiveDuration } from './arguments.js';
import { clientFrom, CONNECTION_HELP, guarded, printJson, withClientOptions, type ClientFlags } from './client-options.js';
import { envPair, parseEnvFile } from './env-vars.js';
import { attach } from './follow.js';
import { runFailureExitCode } from './format/exit-code.js';
import { collectAfter, parseConcurrency } from './flow-flags.js';
import { withSpec, withSpecOptions, type SpecFlags } from './spec-flags.js';
import { STDIN_LIMIT_TEXT, stdinField } from './stdin.js';

/** The flags that say what job to run: `baton run`'s, and `baton schedule create`'s. */
export interface JobFlags extends SpecFlags {
  worker?: string;
  label: Record<string, string>;
  timeout?: number;
  retries?: number;
  priority?: number;
  env: Record<string, string>;
  envFile?: string;
  cwd?: string;
}

interface RunFlags extends ClientFlags, JobFlags {
  idempotencyKey?: string;
  detach?: boolean;
  after: string[];
  concurrency?: { key: string; limit: number };
  stdin?: boolean;
}

function wholeNumber(min: number, max: number): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (!/^-?\d+$/.test(text.trim()) || n < min || n > max) throw new Error(`not a whole number from ${min} to ${max}: "${text}"`);
    return n;
  };
}

function collectEnv(text: string, previous: Record<string, string>): Record<string, string> {
  const [key, value] = envPair(text, process.env);
  return { ...previous, [key]: value };
}

/** Adds the job flags (see JobFlags) to `command`. */
export function withJobOptions(command: Command): Command {
  return withSpecOptions(command)
    .addOption(new Option('-w, --worker <id>', 'run on this worker only (default: the scheduler places the job)'))
    .addOption(
      new Option('-l, --label <key=value>', 'a label the worker must carry (repeatable)')
        .argParser((t: string, prev: Record<string, string>) => argument((x) => parseLabels(x, prev))(t))
        .default({}, 'none'),
    )
    .addOption(new Option('-t, --timeout <duration>', `stop the job and end it timed_out after this long (${DURATION_HELP})`).argParser(positiveDuration))
    .addOption(new Option('--retries <n>', 'try again up to N more times when it fails, is lost or times out').argParser(argument(wholeNumber(0, 99))))
    .addOption(new Option('--priority <n>', 'queued jobs with a higher priority start first (default 0)').argParser(argument(wholeNumber(-1_000_000, 1_000_000))))
    .addOption(
      new Option('-e, --env <KEY=VALUE|KEY>', "an environment variable for the job (repeatable); KEY alone passes this shell's value")
        .argParser((text: string, previous: Record<string, string>) => argument((t) => collectEnv(t, previous))(text))
        .default({}, 'none'),
    )
    .addOption(new Option('--env-file <file>', 'variables from a file, a KEY=VALUE or KEY a line (# comments); -e wins'))
    .addOption(new Option('--cwd <dir>', 'the working directory, inside the worker’s jobs folder'));
}

/** The POST /v1/jobs body the job flags ask for. */
export function jobRequestFrom(program: string, args: string[], flags: JobFlags): SubmitJobRequest {
  const fromFile = flags.envFile === undefined ? {} : parseEnvFile(readFileSync(flags.envFile, 'utf8'), process.env, flags.envFile);
  const request: SubmitJobRequest = { command: program, args, env: { ...fromFile, ...flags.env } };
  if (flags.worker) request.worker_id = flags.worker;
  if (Object.keys(flags.label).length > 0) request.labels = flags.label;
  if (flags.cwd) request.cwd = flags.cwd;
  if (flags.timeout !== undefined) request.timeout = flags.timeout / 1000;
  if (flags.priority !== undefined) request.priority = flags.priority;
  if (flags.retries) request.retry = { max_attempts: flags.retries + 1, on: ['failed', 'lost', 'timed_out'] };
  return withSpec(request, flags);
}

export function runCommand(): Command {
  const command = withClientOptions(
    withJobOptions(
      new Command('run')
        .usage('[options] -- <command> [args...]')
        .description('Run a command on a worker, streaming its output here live (its stdout to stdout, its stderr to stderr), and exit with its exit code (like `docker run`).')
        .argument('<command>', 'the program to run (found on the worker’s PATH, or a script in its jobs folder)')
        .argument('[args...]', 'its arguments (put them after --)'),
    )
      .addOption(new Option('--idempotency-key <key>', 'submitting again with the same key gives the same job, not a second one'))
      .addOption(new Option('-i, --stdin', `send this command's standard input to the job (read to its end first, at most ${STDIN_LIMIT_TEXT})`))
      .addOption(new Option('-d, --detach', 'print the job id and exit at once, leaving the job running'))
      .addOption(
        new Option('--after <job>', 'start only once this job has succeeded; skipped if it does not (repeatable, or a comma list)')
          .argParser((t: string, prev: string[]) => argument((x) => collectAfter(x, prev))(t))
          .default([], 'none'),
      )
      .addOption(
        new Option('--concurrency <key[=limit]>', 'at most LIMIT (default 1) jobs of KEY run at once, fleet-wide; this one waits its turn').argParser(argument(parseConcurrency)),
      )
      .addOption(new Option('--json', 'print the job as JSON (with --detach: at once; otherwise when it ends, its output then going to stderr)')),
  ).addHelpText(
    'after',
    `
Without --worker the scheduler places the job on a worker that is up, not draining, has
room and carries every --label; when none can take it yet, it waits in the queue and a status
line here says why. Without -i the job's stdin is empty (/dev/null); with -i it reads what
was piped here, every attempt from the start (up to ${STDIN_LIMIT_TEXT}: larger input belongs in a
file in the jobs folder). The job's stdout comes out on stdout and its stderr on stderr (the
order between the two, as with any two pipes, is not kept). With --retries, each attempt's output follows a line
"baton: attempt 2 of 3 on worker-1", and the exit status is the final attempt's.

Exit status: the job's exit code; 128+N when signal N ended it (SIGKILL: 137, a stop: 143);
124 timed out; 127 command not found, 126 not executable; 125 when the job could not be
submitted (no worker up, scheduler unreachable, request refused); 1 for a bad flag.
Ctrl-C stops the job (SIGTERM) and waits for it; a second Ctrl-C leaves it running and exits.
${CONNECTION_HELP}

Examples:
  baton run -- bash -c 'echo hi; exit 7'        # prints hi, exits 7
  baton run --worker worker-1 -- make -j8 test
  baton run --label zone=gpu --timeout 2h --retries 2 -- ./train.sh
  baton run -e GREETING=hello --cwd sub -- bash where.sh
  baton run -e HOME --env-file job.env -- ./deploy.sh    # HOME as set here
  echo hi | baton run -i -- cat                 # prints hi
  baton run --name nightly --cpu 2 --memory 4GiB -- ./build.sh
  baton run --run-on all -- uptime              # once on every worker
  id=$(baton run --detach -- sleep 600) && baton logs -f "$id"
  baton run --json -- ./nightly.sh 2>nightly.log | jq .exit_code
  baton run --after "$build" --concurrency deploy-prod -- ./deploy.sh`,
  );

  command.action(
    guarded(async (program: string, args: string[]) => {
      const flags = command.opts<RunFlags>();
      const client = clientFrom(flags);
      const request = jobRequestFrom(program, args, flags);
      if (flags.after.length > 0) request.after = flags.after;
      if (flags.concurrency) request.concurrency = flags.concurrency;
      if (flags.stdin) request.stdin = await stdinField();
      const job = await client.submitJob(request, { idempotencyKey: flags.idempotencyKey });
      if (flags.detach) {
        if (flags.json) printJson(job);
        else process.stdout.write(`${job.id}\n`);
        return;
      }
      process.exitCode = await attach(client, job.id, flags.json === true);
    }, runFailureExitCode),
  );
  return command;
}
