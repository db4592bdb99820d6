import { Command, Option } from 'commander';
import { isFinalJobState, type BatonClient, type JobDetail } from '../client/index.js';
import { clientFrom, CONNECTION_HELP, exitQuietlyOnEpipe, guarded, printJson, sleep, withClientOptions, writeChunk, type ClientFlags } from './client-options.js';
import { exitCodeFor, runFailureExitCode } from './format/exit-code.js';

interface RunFlags extends ClientFlags {
  worker?: string;
  detach?: boolean;
  env: Record<string, string>;
  cwd?: string;
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
      .addOption(new Option('-w, --worker <id>', 'the worker to run on; required unless exactly one worker is up, which is then used'))
      .addOption(new Option('-d, --detach', 'print the job id and exit at once, leaving the job running'))
      .addOption(new Option('-e, --env <KEY=VALUE>', 'an environment variable for the job (repeatable)').argParser(collectEnv).default({}, 'none'))
      .addOption(new Option('--cwd <dir>', 'the working directory, inside the worker’s jobs folder'))
      .addOption(new Option('--json', 'print the job as JSON (with --detach: at once; otherwise when it ends, its output then going to stderr)')),
  ).addHelpText(
    'after',
    `
There is no automatic placement yet: --worker is required unless exactly one worker is up.

Exit status: the job's exit code; 128+N when signal N ended it (SIGKILL: 137, a stop: 143);
124 timed out; 127 command not found, 126 not executable; 125 when the job could not be
submitted (no worker up, scheduler unreachable, request refused); 1 for a bad flag. Ctrl-C stops the job (SIGTERM) and waits
for it; a second Ctrl-C leaves it running and exits.
${CONNECTION_HELP}

Examples:
  baton run -- bash -c 'echo hi; exit 7'        # prints hi, exits 7
  baton run --worker worker-1 -- make -j8 test
  baton run -e GREETING=hello --cwd sub -- bash where.sh
  id=$(baton run --detach -- sleep 600) && baton logs -f "$id"
  baton run --json -- ./nightly.sh 2>nightly.log | jq .exit_code`,
  );

  command.action(
    guarded(async (program: string, args: string[]) => {
      const flags = command.opts<RunFlags>();
      const client = clientFrom(flags);
      const workerId = flags.worker ?? (await onlyWorkerUp(client));
      const job = await client.submitJob({ worker_id: workerId, command: program, args, env: flags.env, ...(flags.cwd ? { cwd: flags.cwd } : {}) });
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

/** Without --worker: the one worker that is up, else a message saying what to do. */
async function onlyWorkerUp(client: BatonClient): Promise<string> {
  const up = (await client.listWorkers()).filter((w) => w.state === 'up');
  if (up.length === 1) return up[0]!.id;
  if (up.length === 0) throw new Error('no worker is up: start one with `baton worker`, or see `baton workers`');
  const names = up.map((w) => w.id);
  const shown = names.length > 5 ? `${names.slice(0, 5).join(', ')}, …` : names.join(', ');
  throw new Error(`${up.length} workers are up (${shown}): choose one with --worker ID`);
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

/** The output ends when the process does; the scheduler records the final state a moment later. */
async function finalState(client: BatonClient, jobId: string): Promise<JobDetail> {
  const deadline = Date.now() + 15_000;
  for (let delay = 20; ; delay = Math.min(delay * 2, 500)) {
    const job = await client.getJob(jobId);
    if (isFinalJobState(job.state) || Date.now() > deadline) return job;
    await sleep(delay);
  }
}
