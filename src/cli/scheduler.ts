import path from 'node:path';
import { Command, Option } from 'commander';
import { createLogger } from '../common/logger.js';
import { applyConfigFile, parseBytes, parseDuration } from '../common/options.js';
import { startScheduler } from '../scheduler/scheduler.js';

interface SchedulerFlags {
  http: string;
  grpc: string;
  dataDir: string;
  store?: string;
  bodyLimit: number;
  heartbeatInterval: number;
  heartbeatTtl: number;
  config?: string;
}

export function schedulerCommand(): Command {
  const command = new Command('scheduler')
    .description('Run the scheduler: the HTTP API for people and programs, the gRPC service workers register with, and the job store.')
    .addOption(new Option('--http <host:port>', 'where the HTTP API listens (port 0: any free port)').env('BATON_HTTP').default('127.0.0.1:7070'))
    .addOption(new Option('--grpc <host:port>', 'where workers reach the scheduler over gRPC (port 0: any free port)').env('BATON_GRPC').default('127.0.0.1:7071'))
    .addOption(new Option('--data-dir <dir>', 'folder for the SQLite store').env('BATON_DATA_DIR').default('./.baton/scheduler'))
    .addOption(new Option('--store <url>', 'job store: sqlite:<file> or postgres://user@host:port/db (default: sqlite:<data-dir>/baton.db)').env('BATON_STORE'))
    .addOption(new Option('--body-limit <size>', 'largest request body accepted (e.g. 1MiB, 64k)').env('BATON_BODY_LIMIT').default(parseBytes('1MiB'), '1MiB').argParser(parseBytes))
    .addOption(new Option('--heartbeat-interval <duration>', 'how often workers are told to send heartbeats').env('BATON_HEARTBEAT_INTERVAL').default(2_000, '2s').argParser(parseDuration))
    .addOption(new Option('--heartbeat-ttl <duration>', 'a worker silent for longer is marked down').env('BATON_HEARTBEAT_TTL').default(10_000, '10s').argParser(parseDuration))
    .addOption(new Option('--config <file>', 'TOML config file; its [scheduler] table sets any of these options (default: ./baton.toml if present)').env('BATON_CONFIG'))
    .addHelpText(
      'after',
      `
Options are read from flags, then BATON_* environment variables, then [scheduler] in baton.toml.

Examples:
  baton scheduler
  baton scheduler --http 0.0.0.0:8080 --store postgres://postgres@127.0.0.1:5432/baton
  BATON_LOG_FORMAT=json baton scheduler --http 127.0.0.1:0 --grpc 127.0.0.1:0

  curl -d '{"worker_id":"w-1","command":"bash","path":"scripts/count.sh"}' http://127.0.0.1:7070/start`,
    )
    .action(async () => {
      applyConfigFile(command, 'scheduler');
      const flags = command.opts<SchedulerFlags>();
      const log = createLogger('scheduler');
      const scheduler = await startScheduler({
        http: flags.http,
        grpc: flags.grpc,
        store: flags.store ?? `sqlite:${path.join(flags.dataDir, 'baton.db')}`,
        bodyLimit: flags.bodyLimit,
        heartbeatIntervalMs: flags.heartbeatInterval,
        heartbeatTtlMs: flags.heartbeatTtl,
        logger: log,
      });
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
