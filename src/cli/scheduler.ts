import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { createLogger } from '../common/logger.js';
import { applyConfigFile, environmentWarnings, parseBytes, parsePositiveInt } from '../common/options.js';
import { parseTrustedProxies, trustedProxyList } from '../scheduler/auth/trusted-proxies.js';
import { limitHeapGrowth } from '../scheduler/heap-growth.js';
import { age, DURATION_HELP, positiveDuration } from './arguments.js';
import { addTlsOptions, reloadCertificatesOnSighup, resolveSecurity, type TlsFlags } from './certs.js';

interface SchedulerFlags extends TlsFlags {
  http: string;
  grpc: string;
  dataDir: string;
  store?: string;
  bodyLimit: number;
  heartbeatInterval: number;
  heartbeatTtl: number;
  lostAfter: number;
  maxQueued: number;
  outputRetention: number;
  outputBudget: number;
  jobRetention: number;
  auth: boolean;
  authMaxFailures: number;
  /** The flag's checked list, or a string or array as written in baton.toml. */
  trustedProxy?: unknown;
  httpsCert?: string;
  httpsKey?: string;
  config?: string;
}

/** BATON_NO_AUTH=1 (or true/yes) turns tokens off; unset, empty, 0 or false leaves them on. */
function noAuthFromEnv(): boolean {
  return /^(1|true|yes)$/i.test(process.env.BATON_NO_AUTH ?? '');
}

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(`cannot read the HTTPS ${what} ${file}: ${(err as Error).message}`);
  }
}

export function schedulerCommand(): Command {
  const command = new Command('scheduler')
    .description('Run the scheduler: the HTTP API for people and programs, the gRPC service workers register with, and the job store.')
    .addOption(new Option('--http <host:port>', 'where the HTTP API listens (port 0: any free port)').env('BATON_HTTP').default('127.0.0.1:7070'))
    .addOption(new Option('--grpc <host:port>', 'where workers reach the scheduler over gRPC (port 0: any free port)').env('BATON_GRPC').default('127.0.0.1:7071'))
    .addOption(new Option('--data-dir <dir>', 'folder for the SQLite store').env('BATON_DATA_DIR').default('./.baton/scheduler'))
    .addOption(new Option('--store <url>', 'job store: sqlite:<file> or postgres://user@host:port/db (default: sqlite:<data-dir>/baton.db)').env('BATON_STORE'))
    .addOption(
      new Option('--body-limit <size>', 'largest request body accepted (e.g. 1MiB, 64k)').env('BATON_BODY_LIMIT').default(parseBytes('1MiB'), '1MiB').argParser(parseBytes),
    )
    .addOption(
      new Option('--heartbeat-interval <duration>', `how often workers are told to send heartbeats (${DURATION_HELP})`)
        .env('BATON_HEARTBEAT_INTERVAL')
        .default(2_000, '2s')
        .argParser(positiveDuration),
    )
    .addOption(
      new Option('--heartbeat-ttl <duration>', `a worker silent for longer is marked down (${DURATION_HELP})`)
        .env('BATON_HEARTBEAT_TTL')
        .default(10_000, '10s')
        .argParser(positiveDuration),
    )
    .addOption(
      new Option('--lost-after <duration>', `how long a silent worker's jobs stay unknown before they are lost (final; retried if their policy says so) (${DURATION_HELP})`)
        .env('BATON_LOST_AFTER')
        .default(30_000, '30s')
        .argParser(positiveDuration),
    )
    .addOption(
      new Option('--max-queued <n>', 'jobs allowed to wait in the queue; beyond it POST /v1/jobs answers 429 with Retry-After')
        .env('BATON_MAX_QUEUED')
        .default(10_000)
        .argParser(parsePositiveInt),
    )
    .addOption(new Option('--no-auth', 'serve the API without tokens: every caller may do everything (env BATON_NO_AUTH=1); only for loopback or a trusted network'))
    .addOption(new Option('--auth', 'require API tokens (the default; overrides an earlier --no-auth)').hideHelp())
    .addOption(
      new Option('--auth-max-failures <n>', 'bad tokens one address may present in a minute before its failing attempts are answered 429 (a valid token is always served)')
        .env('BATON_AUTH_MAX_FAILURES')
        .default(10)
        .argParser(parsePositiveInt),
    )
    .addOption(
      new Option(
        '--trusted-proxy <addr>',
        'a reverse proxy (address or CIDR range; repeat or comma-separate) whose X-Forwarded-For names the client for the auth throttle and audit log; from other peers the header is ignored',
      )
        .env('BATON_TRUSTED_PROXY')
        .argParser(parseTrustedProxies),
    )
    .addOption(new Option('--https-cert <file>', 'serve the API over HTTPS (TLS 1.3) with this PEM certificate chain; needs --https-key').env('BATON_HTTPS_CERT'))
    .addOption(new Option('--https-key <file>', 'PEM private key for --https-cert').env('BATON_HTTPS_KEY'));
  addTlsOptions(command, 'scheduler');
  command
    .addOption(
      new Option(
        '--output-retention <duration>',
        `finished attempts' output is deleted this long after it ended; reading it then answers 410 (0: kept until --job-retention) (${DURATION_HELP})`,
      )
        .env('BATON_OUTPUT_RETENTION')
        .default(7 * 86_400_000, '7d')
        .argParser(age),
    )
    .addOption(
      new Option('--output-budget <size>', 'the most bytes of finished output the store keeps; beyond it the oldest is deleted first (0: no budget)')
        .env('BATON_OUTPUT_BUDGET')
        .default(10 * 1024 ** 3, '10GiB')
        .argParser(parseBytes),
    )
    .addOption(
      new Option(
        '--job-retention <duration>',
        `finished jobs, with their attempts, events and output, are deleted this long after they ended (0: kept for ever) (${DURATION_HELP})`,
      )
        .env('BATON_JOB_RETENTION')
        .default(90 * 86_400_000, '90d')
        .argParser(age),
    )
    .addOption(new Option('--config <file>', 'TOML config file; its [scheduler] table sets any of these options (default: ./baton.toml if present)').env('BATON_CONFIG'))
    .addHelpText(
      'after',
      `
Options are read from flags, then BATON_* environment variables, then [scheduler] in baton.toml
(keys as the flags' long names; an unknown key or a value of the wrong type stops the scheduler).
A duration is 30s, 5m, 1h30m, 500ms, or a bare number of seconds.

API tokens: every call but GET /healthz needs "Authorization: Bearer <token>". Make the first
token against the same store, then more through the API (POST /v1/tokens) or the CLI, from any
machine with an admin token (baton token create … --addr URL --token TOKEN):
  baton token create --role admin --name admin        (prints the token once)
Roles: viewer (read), operator (viewer + start/stop jobs), admin (operator + drain and
remove workers, tokens).

Metrics: GET /metrics (viewer) is Prometheus text: jobs, queue wait and run times, workers
(running/capacity each), HTTP and gRPC (5xx-class errors), process_*, nodejs_*, build info.
Failed authentications, token changes and every call that changes something are logged as
"audit" lines (who, role, client address, route, status, ids; never a secret).

Workers: mutual TLS 1.3 with the cluster's certificates (baton certs init && baton certs issue
scheduler); only a worker's own certificate may register or heartbeat for it. SIGHUP re-reads
the certificate files. --insecure: plaintext, loopback only.

Examples:
  baton scheduler
  baton scheduler --https-cert api.crt --https-key api.key --http 0.0.0.0:7070
  baton scheduler --no-auth                           (loopback experiments only)
  baton scheduler --http 0.0.0.0:7070 --trusted-proxy 10.0.0.5   (behind a reverse proxy at 10.0.0.5)
  baton scheduler --http 0.0.0.0:8080 --store postgres://postgres@127.0.0.1:5432/baton
  baton scheduler --config /etc/baton/baton.toml       (on a real host: docs/deploy.md)
  BATON_LOG_FORMAT=json baton scheduler --http 127.0.0.1:0 --grpc 127.0.0.1:0

  curl -H "Authorization: Bearer $BATON_TOKEN" -d '{"worker_id":"w-1","command":"bash","path":"scripts/count.sh"}' http://127.0.0.1:7070/start
  curl -H "Authorization: Bearer $BATON_TOKEN" -d '{"command":"nvidia-smi","labels":{"gpu":"true"},"priority":5,"retry":{"max_attempts":3,"on":["lost"]}}' http://127.0.0.1:7070/v1/jobs

Scheduling: a job without worker_id goes to the least loaded worker (relative to its capacity)
that is up and carries all its labels; when none has room it waits in the queue (priority,
then arrival) with the reason on the job. A worker silent past --heartbeat-ttl, or whose
heartbeat stream breaks, is down and its jobs are unknown; they go on if it answers within
--lost-after, else they end lost (retried if their retry policy says so).`,
    )
    .action(async () => {
      applyConfigFile(command, 'scheduler');
      const flags = command.opts<SchedulerFlags>();
      const log = createLogger('scheduler');
      for (const warning of environmentWarnings(command)) log.warn(warning);
      if ((flags.httpsCert === undefined) !== (flags.httpsKey === undefined)) throw new Error('--https-cert and --https-key go together');
      const security = await resolveSecurity(flags, 'scheduler', [flags.grpc]);
      const https = flags.httpsCert && flags.httpsKey ? { cert: readPem(flags.httpsCert, 'certificate'), key: readPem(flags.httpsKey, 'key') } : undefined;
      // --no-auth beats the environment; a later --auth beats both (commander keeps the last of the pair).
      const auth = command.getOptionValueSource('auth') === 'cli' ? flags.auth : flags.auth && !noAuthFromEnv();
      // Loaded here, not at the top: every other `baton` command starts faster without the server's modules.
      const { startScheduler } = await import('../scheduler/scheduler.js');
      limitHeapGrowth();
      const scheduler = await startScheduler({
        http: flags.http,
        grpc: flags.grpc,
        store: flags.store ?? `sqlite:${path.join(flags.dataDir, 'baton.db')}`,
        bodyLimit: flags.bodyLimit,
        heartbeatIntervalMs: flags.heartbeatInterval,
        heartbeatTtlMs: flags.heartbeatTtl,
        lostAfterMs: flags.lostAfter,
        maxQueued: flags.maxQueued,
        retention: { outputRetentionMs: flags.outputRetention, outputBudgetBytes: flags.outputBudget, jobRetentionMs: flags.jobRetention },
        auth,
        authThrottle: { maxFailures: flags.authMaxFailures, windowMs: 60_000, maxTracked: 10_000 },
        trustedProxies: trustedProxyList(flags.trustedProxy),
        https,
        security,
        logger: log,
      });
      reloadCertificatesOnSighup(security, log);
      const shutdown = (signal: string): void => {
        log.info({ signal }, 'shutting down');
        scheduler.close().then(
          () => process.exit(0),
          (err: unknown) => {
            log.error({ err }, 'unclean shutdown');
            process.exit(1);
          },
        );
      };
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
    });
  return command;
}
