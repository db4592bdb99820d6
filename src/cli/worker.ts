import { Command, InvalidArgumentError, Option } from 'commander';
import { argument, DURATION_HELP, duration } from './arguments.js';
import { applyConfigFile, environmentWarnings, parseBytes, parseLabels, parsePositiveInt } from '../common/options.js';
import { createLogger } from '../common/logger.js';
import { schedulerAddresses } from '../common/net.js';
import { parseCpu, parseIoLimits, parseMemory, parsePids, type Limits } from '../worker/sandbox/limits.js';
import { DEFAULT_ENV_ALLOW } from '../worker/sandbox/sandbox.js';
import type { RunningWorker } from '../worker/worker.js';
import { addTlsOptions, reloadCertificatesOnSighup, resolveSecurity, storedWorkerId, type TlsFlags } from './certs.js';

interface WorkerCliOptions extends TlsFlags {
  id?: string;
  listen: string;
  advertise?: string;
  scheduler: string;
  dataDir: string;
  jobsDir: string;
  capacity: number;
  label: Record<string, string>;
  stopGrace: number;
  drainTimeout: number;
  reattachWindow: number;
  outputCap: number;
  runAs?: string;
  allowRoot?: boolean;
  envAllow: string | string[];
  allowedCommand: string[];
  /** Comma-separated on the command line; a TOML array in the config (allowed_commands = [...]). */
  allowedCommands?: string | string[];
  defaultMemory?: string | number;
  maxMemory?: string | number;
  defaultCpu?: string | number;
  maxCpu?: string | number;
  defaultPids?: string | number;
  maxPids?: string | number;
  /** "write_bps=10MiB,read_iops=100" on the command line; a TOML table in the config (default_io = { write_bps = "10MiB" }). */
  defaultIo?: string | Record<string, unknown>;
  maxIo?: string | Record<string, unknown>;
  metrics?: string;
  config?: string;
}

/** "a,b" or ["a", "b"] (a TOML array) → ["a", "b"]. */
function list(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  const items = Array.isArray(value) ? value.map(String) : value.split(',');
  return items.map((x) => x.trim()).filter(Boolean);
}

/** Config values arrive unparsed when they are TOML numbers; flags arrive as text. */
function limitsFrom(opts: WorkerCliOptions, which: 'default' | 'max'): Limits {
  const limits: Limits = {};
  const flag = (name: string, fn: () => number): number => {
    try {
      return fn();
    } catch (err) {
      throw new InvalidArgumentError(`--${which}-${name}: ${(err as Error).message}`);
    }
  };
  const memory = which === 'default' ? opts.defaultMemory : opts.maxMemory;
  const cpu = which === 'default' ? opts.defaultCpu : opts.maxCpu;
  const pids = which === 'default' ? opts.defaultPids : opts.maxPids;
  const io = which === 'default' ? opts.defaultIo : opts.maxIo;
  if (memory !== undefined) limits.memoryBytes = flag('memory', () => parseMemory(memory));
  if (cpu !== undefined) limits.cpu = flag('cpu', () => parseCpu(cpu));
  if (pids !== undefined) limits.pids = flag('pids', () => parsePids(pids));
  if (io !== undefined) Object.assign(limits, parseIoLimits(io, `--${which}-io`));
  return limits;
}

/** `baton worker`: runs the jobs the scheduler hands it as OS processes. */
export function workerCommand(): Command {
  return addTlsOptions(
    new Command('worker')
      .description('run a worker: registers with the scheduler and runs the jobs it is given as OS processes')
      .addOption(
        new Option('--id <id>', 'worker id (default: the name in --tls-cert; with --insecure, kept in <data-dir>/worker-id, created on first start)').env('BATON_WORKER_ID'),
      )
      .addOption(new Option('--listen <host:port>', 'gRPC address to listen on; port 0 picks a free port').default('127.0.0.1:7072').env('BATON_WORKER_LISTEN'))
      .addOption(
        new Option('--advertise <host:port>', 'address the scheduler dials (default: the address actually bound; needed with --listen 0.0.0.0:…)').env('BATON_WORKER_ADVERTISE'),
      )
      .addOption(
        new Option(
          '--scheduler <host:port[,…]>',
          "the scheduler's gRPC address; several, comma-separated, for schedulers sharing a PostgreSQL store (the worker fails over between them)",
        )
          .default('127.0.0.1:7071')
          .env('BATON_SCHEDULER'),
      )
      .addOption(new Option('--data-dir <dir>', 'worker id and job output files').default('./.baton/worker').env('BATON_WORKER_DATA_DIR'))
      .addOption(new Option('--jobs-dir <dir>', "folder holding the job scripts; a job's path and cwd must stay inside it").default('./jobs').env('BATON_JOBS_DIR'))
      .addOption(new Option('--capacity <n>', 'jobs run at the same time; more are refused').default(16).argParser(argument(parsePositiveInt)).env('BATON_WORKER_CAPACITY'))
      .addOption(
        new Option('--label <key=value>', 'label for placement, repeatable (or key=value,key2=value2)')
          .default({}, 'none')
          .argParser((text: string, previous: Record<string, string>) => argument((t) => parseLabels(t, previous))(text))
          .env('BATON_WORKER_LABELS'),
      )
      .addOption(
        new Option('--stop-grace <duration>', `time between SIGTERM and SIGKILL when a job is stopped (${DURATION_HELP})`)
          .default(5_000, '5s')
          .argParser(duration)
          .env('BATON_STOP_GRACE'),
      )
      .addOption(
        new Option('--drain-timeout <duration>', `on SIGTERM/SIGINT, how long running jobs may go on finishing before they are stopped (${DURATION_HELP})`)
          .default(30_000, '30s')
          .argParser(duration)
          .env('BATON_WORKER_DRAIN_TIMEOUT'),
      )
      .addOption(
        new Option(
          '--reattach-window <duration>',
          `how long jobs keep running after the worker process dies or exits on SIGQUIT, for a worker restarted on the same --data-dir to take them back; then they are stopped (${DURATION_HELP})`,
        )
          .default(60_000, '60s')
          .argParser(duration)
          .env('BATON_WORKER_REATTACH_WINDOW'),
      )
      .addOption(
        new Option(
          '--output-cap <size>',
          'per-job output kept: over it, its head and its last quarter (at most 16MiB) with a marker line between; the job keeps running. Keeping stdout and stderr apart adds at most 1/16 of it on disk',
        )
          .default(100 * 1024 ** 2, '100MiB')
          .argParser(argument(parseBytes))
          .env('BATON_OUTPUT_CAP'),
      ),
    'worker',
  )
    .addOption(new Option('--run-as <user[:group]>', 'user (and group) jobs run as when the worker is root (default: nobody:nogroup)').env('BATON_WORKER_RUN_AS'))
    .addOption(new Option('--allow-root', 'let jobs run as root: a root worker without --run-as then runs them as itself').env('BATON_WORKER_ALLOW_ROOT'))
    .addOption(
      new Option('--env-allow <names>', "comma-separated variables of the worker's environment that jobs see (PATH always, with a fallback)")
        .default(DEFAULT_ENV_ALLOW.join(','))
        .env('BATON_WORKER_ENV_ALLOW'),
    )
    .addOption(
      new Option('--allowed-command <command>', 'a command jobs may run, as written or as its absolute path; repeatable')
        .default([], 'any command found in PATH')
        .argParser((text: string, previous: string[]) => [...previous, text]),
    )
    .addOption(new Option('--allowed-commands <list>', 'the same, comma-separated (config: allowed_commands = ["bash", "sh"])').env('BATON_WORKER_ALLOWED_COMMANDS'))
    .addOption(new Option('--default-memory <size>', 'memory limit of a job that asks for none (needs cgroups)').env('BATON_DEFAULT_MEMORY'))
    .addOption(new Option('--max-memory <size>', 'largest memory limit a job may ask for').env('BATON_MAX_MEMORY'))
    .addOption(new Option('--default-cpu <cpus>', 'CPU limit of a job that asks for none, e.g. 1 or 0.5').env('BATON_DEFAULT_CPU'))
    .addOption(new Option('--max-cpu <cpus>', 'largest CPU limit a job may ask for').env('BATON_MAX_CPU'))
    .addOption(new Option('--default-pids <n>', 'process limit of a job that asks for none').env('BATON_DEFAULT_PIDS'))
    .addOption(new Option('--max-pids <n>', 'largest process limit a job may ask for').env('BATON_MAX_PIDS'))
    .addOption(
      new Option('--default-io <limits>', 'disk I/O limits of a job that asks for none, e.g. write_bps=10MiB,read_iops=200 (keys read_bps, write_bps, read_iops, write_iops)').env(
        'BATON_DEFAULT_IO',
      ),
    )
    .addOption(new Option('--max-io <limits>', 'largest disk I/O limits a job may ask for, same form').env('BATON_MAX_IO'))
    .addOption(
      new Option('--metrics <host:port>', "serve this worker's Prometheus metrics on GET http://<host:port>/metrics (plain HTTP, no token; default: off)").env(
        'BATON_WORKER_METRICS',
      ),
    )
    .addOption(new Option('--config <file>', 'TOML config file; its [worker] table sets any option above (default: ./baton.toml if present)').env('BATON_CONFIG'))
    .addHelpText(
      'after',
      `
A flag beats its BATON_* environment variable, which beats [worker] in baton.toml (keys as the
flags' long names; an unknown key or a value of the wrong type stops the worker).
A duration is 30s, 5m, 1h30m, 500ms, or a bare number of seconds.
SIGINT/SIGTERM drain the worker: it takes no new jobs (the scheduler is told at once), lets
running jobs finish for up to --drain-timeout, stops what is left, deregisters and exits 0.
A second signal kills the jobs at once and exits 1. SIGQUIT exits at once and leaves the
jobs running under their supervisor: a worker started again on the same --data-dir within
--reattach-window takes them back (same attempt, output continuing in the same file), as
after a crash or SIGKILL of the worker.

The scheduler and the worker use mutual TLS 1.3: the worker's certificate names it (its id is
the name in the certificate; --id must agree), and only the scheduler's certificate may start,
stop or watch its jobs. Create them with: baton certs init && baton certs issue worker NAME.
SIGHUP re-reads the certificate files. --insecure: plaintext, loopback only.

Job sandbox: a root worker runs jobs as --run-as (default nobody:nogroup; as root only with
--allow-root). Jobs see only the --env-allow variables plus their own. With --allowed-command
set, other commands are refused; unset, any command found in PATH (or an executable in the
jobs folder) runs. Resource limits (--default-*/--max-*, and per job in the API) use cgroup v2
when it has controllers, else cgroup v1; without either, jobs asking for limits are refused.
Disk I/O limits apply to the disks holding --data-dir and --jobs-dir (v1 blkio throttling, v2 io.max).

--metrics serves the worker's own figures (jobs started and ended, run times, heartbeat
failures, process_* and nodejs_*), each labelled worker_id; the scheduler's /metrics has
every worker's running/capacity from their heartbeats.

Examples:
  baton worker --scheduler 127.0.0.1:7071 --listen 127.0.0.1:7072 --jobs-dir ./jobs --label zone=a --capacity 8
  baton worker --listen 0.0.0.0:7072 --advertise 10.0.0.11:7072 --scheduler 10.0.0.2:7071 --metrics 10.0.0.11:9102
  baton worker --config /etc/baton/baton.toml       (on a real host: docs/deploy.md)
`,
    )
    .action(async (_options: unknown, command: Command) => {
      applyConfigFile(command, 'worker');
      const opts = command.opts<WorkerCliOptions>();
      const security = await resolveSecurity(opts, 'worker', [opts.listen, ...schedulerAddresses(opts.scheduler)], opts.id ?? storedWorkerId(opts.dataDir));
      // Loaded here, not at the top: every other `baton` command starts faster without the worker's modules.
      const { startWorker } = await import('../worker/worker.js');
      const worker = await startWorker({
        id: opts.id,
        listen: opts.listen,
        advertise: opts.advertise,
        scheduler: opts.scheduler,
        dataDir: opts.dataDir,
        jobsDir: opts.jobsDir,
        capacity: opts.capacity,
        labels: opts.label,
        stopGraceMs: opts.stopGrace,
        drainTimeoutMs: opts.drainTimeout,
        reattachWindowMs: opts.reattachWindow,
        outputCapBytes: opts.outputCap,
        security,
        runAs: opts.runAs,
        allowRoot: opts.allowRoot === true,
        envAllow: list(opts.envAllow),
        allowedCommands: [...opts.allowedCommand, ...list(opts.allowedCommands)],
        limits: { defaults: limitsFrom(opts, 'default'), max: limitsFrom(opts, 'max') },
        metricsListen: opts.metrics,
      });
      const log = createLogger('worker').child({ worker_id: worker.workerId });
      for (const warning of environmentWarnings(command)) log.warn(warning);
      reloadCertificatesOnSighup(security, log);
      exitOnSignals(worker);
    });
}

/** First signal: graceful shutdown, exit 0. Second: kill the jobs and exit 1 now. */
function exitOnSignals(worker: RunningWorker): void {
  let shuttingDown = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (shuttingDown) {
      console.error(`baton worker: ${signal} again; killing jobs and exiting now`);
      worker.killAllJobs();
      process.exit(1);
    }
    shuttingDown = true;
    worker.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(`baton worker: shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
        worker.killAllJobs();
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGQUIT', () => {
    worker.leaveJobsRunning();
    process.exit(0);
  });
}
