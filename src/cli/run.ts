import { Command, Option } from 'commander';
import { isFinalJobState, type BatonClient, type JobDetail, type SubmitJobRequest } from '../client/index.js';
import { parseLabels } from '../common/options.js';
import { argument, DURATION_HELP, positiveDuration } from './arguments.js';
import { clientFrom, CONNECTION_HELP, exitQuietlyOnEpipe, guarded, printJson, sleep, withClientOptions, writeChunk, type ClientFlags } from './client-options.js';
import { collectAfter, parseConcurrency } from './flow-flags.js';
import { exitCodeFor, runFailureExitCode } from './format/exit-code.js';

interface RunFlags extends ClientFlags {
  worker?: string;
  label: Record<string, string>;
  timeout?: number;
  retries?: number;
  priority?: number;
  idempotencyKey?: string;
  detach?: boolean;
  env: Record<string, string>;
  cwd?: string;
  after: string[];
  concurrency?: { key: string; limit: number };
}

// How often a queued job is looked at while `baton run` waits for it to start.
const QUEUED_POLL_MS = 500;

function wholeNumber(min: number, max: number): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (!/^-?\d+$/.test(text.trim()) || n < min || n > max) throw new Error(`not a whole number from ${min} to ${max}: "${text}"`);
    return n;
  };
}

function collectEnv(pair: string, previous: Record<string, string>): Record<string, string> {
  const i = pair.indexOf('=');
  if (i <= 0) throw new Error(`not KEY=VALUE: "${pair}"`);
  return { ...previous, [pair.slice(0, i)]: pair.slice(i + 1) };
}

export function runCommand(): Command {
  const command = withClientOptions(
    new Command('run')
      .usage('[options] -- <command> [args...]')
      .description('Run a command on a worker, streaming its output here live, and exit with its exit code (like `docker run`).')
      .argument('<command>', 'the program to run (found on the worker’s PATH, or a script in its jobs folder)')
      .argument('[args...]', 'its arguments (put them after --)')
      .addOption(new Option('-w, --worker <id>', 'run on this worker only (default: the scheduler places the job)'))
      .addOption(
        new Option('-l, --label <key=value>', 'a label the worker must carry (repeatable)')
          .argParser((t: string, prev: Record<string, string>) => argument((x) => parseLabels(x, prev))(t))
          .default({}, 'none'),
      )
      .addOption(new Option('-t, --timeout <duration>', `stop the job and end it timed_out after this long (${DURATION_HELP})`).argParser(positiveDuration))
      .addOption(new Option('--retries <n>', 'try again up to N more times when it fails, is lost or times out').argParser(argument(wholeNumber(0, 99))))
      .addOption(new Option('--priority <n>', 'queued jobs with a higher priority start first (default 0)').argParser(argument(wholeNumber(-1_000_000, 1_000_000))))
      .addOption(new Option('--idempotency-key <key>', 'submitting again with the same key gives the same job, not a second one'))
      .addOption(new Option('-d, --detach', 'print the job id and exit at once, leaving the job running'))
      .addOption(new Option('-e, --env <KEY=VALUE>', 'an environment variable for the job (repeatable)').argParser(collectEnv).default({}, 'none'))
      .addOption(new Option('--cwd <dir>', 'the working directory, inside the worker’s jobs folder'))
      .addOption(
        new Option('--after <job>', 'start only once this job has succeeded; skipped if it does not (repeatable)')
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
line here says why.

Exit status: the job's exit code; 128+N when signal N ended it (SIGKILL: 137, a stop: 143);
124 timed out; 127 command not found, 126 not executable; 125 when the job could not be
submitted (no worker up, scheduler unreachable, request refused); 1 for a bad flag. Ctrl-C stops the job (SIGTERM) and waits
for it; a second Ctrl-C leaves it running and exits.
${CONNECTION_HELP}

Examples:
  baton run -- bash -c 'echo hi; exit 7'        # prints hi, exits 7
  baton run --worker worker-1 -- make -j8 test
  baton run --label zone=gpu --timeout 2h --retries 2 -- ./train.sh
  baton run -e GREETING=hello --cwd sub -- bash where.sh
  id=$(baton run --detach -- sleep 600) && baton logs -f "$id"
  baton run --json -- ./nightly.sh 2>nightly.log | jq .exit_code
  baton run --after "$build" --concurrency deploy-prod -- ./deploy.sh`,
  );

  command.action(
    guarded(async (program: string, args: string[]) => {
      const flags = command.opts<RunFlags>();
      const client = clientFrom(flags);
      const request: SubmitJobRequest = { command: program, args, env: flags.env };
      if (flags.worker) request.worker_id = flags.worker;
      if (Object.keys(flags.label).length > 0) request.labels = flags.label;
      if (flags.cwd) request.cwd = flags.cwd;
      if (flags.timeout !== undefined) request.timeout = flags.timeout / 1000;
      if (flags.priority !== undefined) request.priority = flags.priority;
      if (flags.after.length > 0) request.after = flags.after;
      if (flags.concurrency) request.concurrency = flags.concurrency;
      if (flags.retries) request.retry = { max_attempts: flags.retries + 1, on: ['failed', 'lost', 'timed_out'] };
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

/** Streams the job's output until it ends; resolves with the exit code `baton run` should end with. */
async function attach(client: BatonClient, jobId: string, json: boolean): Promise<number> {
  const sink = json ? process.stderr : process.stdout;
  exitQuietlyOnEpipe();
  let interrupts = 0;
  const onInterrupt = (): void => {
    interrupts++;
    if (interrupts === 1) {
      process.stderr.write(`\nbaton: stopping job ${jobId} (Ctrl-C again to leave it running)\n`);
      client.stopJob(jobId).catch((err: unknown) => process.stderr.write(`baton: could not stop job ${jobId}: ${(err as Error).message}\n`));
      return;
    }
    process.stderr.write(`baton: job ${jobId} left running; \`baton logs -f ${jobId}\` follows it, \`baton stop ${jobId}\` stops it\n`);
    process.exit(130);
  };
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onInterrupt);
  try {
    if (!(await untilPlaced(client, jobId, () => interrupts > 0))) {
      // Stopped (Ctrl-C) or ended while it waited: there is no output to follow.
      const job = await finalState(client, jobId);
      if (json) printJson(job);
      else process.stderr.write(`baton: job ${jobId} ${job.state}${job.error ? `: ${job.error}` : ''}\n`);
      return exitCodeFor(job) ?? 1;
    }
    for await (const chunk of client.output(jobId, { follow: true })) await writeChunk(sink, chunk);
    const job = await finalState(client, jobId);
    if (json) printJson(job);
    const code = exitCodeFor(job);
    if (code === undefined) throw new Error(`job ${jobId} is still ${job.state} after its output ended; \`baton status ${jobId}\` shows it`);
    if (job.state !== 'succeeded' && job.state !== 'failed' && !json) process.stderr.write(`baton: job ${jobId} ${job.state}${job.error ? `: ${job.error}` : ''}\n`);
    return code;
  } finally {
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
  }
}

/**
 * Waits while the job is queued, with a status line on stderr saying why (updated when the
 * reason changes). True once it is placed on a worker; false when it ended without one (stopped while queued).
 */
async function untilPlaced(client: BatonClient, jobId: string, interrupted: () => boolean): Promise<boolean> {
  let shown = '';
  for (;;) {
    const job = await client.getJob(jobId);
    if (job.state !== 'queued' && job.state !== 'waiting') {
      if (shown && process.stderr.isTTY) process.stderr.write('\n');
      // A job that ran (even one already over) has output to show; one stopped in the queue has none.
      return Boolean(job.worker_id);
    }
    if (interrupted()) {
      await sleep(QUEUED_POLL_MS);
      continue;
    }
    const line = `baton: job ${jobId} ${job.state}${job.reason ? `: ${job.reason}` : ''}`;
    if (line !== shown) {
      process.stderr.write(process.stderr.isTTY ? `\r\x1b[K${line}` : `${line}\n`);
      shown = line;
    }
    await sleep(QUEUED_POLL_MS);
  }
}

/** The output ends when the process does; the scheduler records the final state a moment later. */
async function finalState(client: BatonClient, jobId: string): Promise<JobDetail> {
  const deadline = Date.now() + 15_000;
  for (let delay = 20; ; delay = Math.min(delay * 2, 500)) {
    const job = await client.getJob(jobId);
    if (isFinalJobState(job.state) || Date.now() > deadline) return job;
    await sleep(delay);
  }
}
