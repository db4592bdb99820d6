import { Command, Option } from 'commander';
import path from 'node:path';
import { packageRoot } from '../common/package-root.js';
import { isLoopbackHost, joinHostPort, splitHostPort } from '../common/net.js';
import { ensureDevCerts, tlsArgs } from './certs.js';
import { DevProcess, type LogView } from './dev-process.js';

interface DevOptions {
  http: string;
  grpc: string;
  workerPort: number;
  workers: number;
  dataDir: string;
  jobsDir: string;
  verbose?: boolean;
}

/** `baton dev`: a scheduler and workers as separate real processes, for trying Baton locally. */
export function devCommand(): Command {
  return new Command('dev')
    .description('run a local cluster: a scheduler and two workers on loopback, data under ./.baton')
    .option('--http <host:port>', 'HTTP API and dashboard address', '127.0.0.1:7070')
    .option('--grpc <host:port>', 'scheduler gRPC address', '127.0.0.1:7071')
    .addOption(new Option('--worker-port <port>', 'first worker port; the others follow').default(7072).argParser(Number))
    .addOption(new Option('--workers <n>', 'number of workers').default(2).argParser(Number))
    .option('--data-dir <dir>', 'data folder for the whole cluster (its CA and mTLS certificates in <data-dir>/certs, made on first run)', '.baton')
    .option('--jobs-dir <dir>', 'jobs folder the workers run from', path.join(packageRoot, 'examples', 'jobs'))
    .option('-v, --verbose', 'log every event (job started, finished, …), not only warnings and errors (BATON_LOG_LEVEL sets any level)')
    .addHelpText(
      'after',
      `
Logs go to stdout, one line per event: after the process's name on a terminal, JSON lines
when stdout is not a terminal. A worker that dies is started again (same id; after 1s, 2s,
4s … up to 30s when it keeps dying). Ctrl-C stops the workers (their jobs end stopped),
then the scheduler; a second Ctrl-C kills them at once.

Example:
  baton dev && curl -s localhost:7070/v1/workers`,
    )
    .action(async (opts: DevOptions) => runCluster(opts));
}

async function runCluster(opts: DevOptions): Promise<void> {
  const { host } = splitHostPort(opts.grpc);
  const api = `http://${opts.http}`;
  const workerIds = Array.from({ length: opts.workers }, (_, i) => `worker-${i + 1}`);
  const view: LogView = {
    format: process.env.BATON_LOG_FORMAT === 'json' || process.env.BATON_LOG_FORMAT === 'pretty' ? process.env.BATON_LOG_FORMAT : process.stdout.isTTY ? 'pretty' : 'json',
    level: opts.verbose ? 'info' : (process.env.BATON_LOG_LEVEL ?? 'warn'),
    nameWidth: Math.max('scheduler'.length, ...workerIds.map((id) => id.length)),
  };
  const say = (line: string): void => void process.stderr.write(`baton dev: ${line}\n`);
  let stopping = false;
  const processes: DevProcess[] = [];

  const shutdown = async (exitCode: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    // Workers first: each stops its jobs, reports them stopped and deregisters from a scheduler still there.
    const [scheduler, ...workers] = processes;
    await Promise.all(workers.map((p) => p.stop()));
    await scheduler?.stop();
    process.exit(exitCode);
  };
  const onSignal = (): void => {
    if (stopping) {
      say('killing the cluster now');
      for (const p of processes) void p.stop(true);
      process.exit(130);
    }
    say('stopping the cluster (Ctrl-C again to kill it now)');
    void shutdown(0);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  // Scheduler and workers speak mutual TLS with certificates of this cluster's own CA.
  const certsDir = path.join(opts.dataDir, 'certs');
  const created = await ensureDevCerts(certsDir, workerIds, host);
  if (created.length > 0) say(`created the cluster CA and certificates in ${certsDir}`);

  // Dev mode: no API tokens, so curl works as is. The API is meant to stay on loopback here.
  const scheduler = new DevProcess(
    'scheduler',
    [
      'scheduler',
      '--http',
      opts.http,
      '--grpc',
      opts.grpc,
      '--data-dir',
      path.join(opts.dataDir, 'scheduler'),
      '--no-auth',
      ...tlsArgs(certsDir, { role: 'scheduler', name: 'scheduler' }),
    ],
    view,
    (why) => {
      say(`the scheduler exited (${why}); stopping the cluster`);
      void shutdown(1);
    },
    false,
  );
  processes.push(scheduler);
  scheduler.start();
  // The workers start once the scheduler answers, so none of them has to retry its registration.
  if (
    !(await until(
      () => answers(api),
      STARTUP_TIMEOUT_MS,
      () => stopping || scheduler.exited,
    ))
  ) {
    if (stopping) return;
    say(`the scheduler did not answer on ${api} within ${STARTUP_TIMEOUT_MS / 1000}s; see the lines above`);
    await shutdown(1);
    return;
  }
  for (const [i, id] of workerIds.entries()) {
    const worker = new DevProcess(
      id,
      [
        'worker',
        '--id',
        id,
        '--listen',
        joinHostPort(host, opts.workerPort + i),
        '--scheduler',
        opts.grpc,
        '--data-dir',
        path.join(opts.dataDir, id),
        '--jobs-dir',
        opts.jobsDir,
        // Ctrl-C on a local cluster should stop at once, not wait for jobs to finish.
        '--drain-timeout',
        '0',
        ...tlsArgs(certsDir, { role: 'worker', name: id }),
      ],
      view,
      (why, restartInMs) => say(`${id} exited (${why}); starting it again in ${restartInMs! / 1000}s`),
      true,
    );
    processes.push(worker);
    worker.start();
  }

  if (
    !(await until(
      () => workersUp(api, workerIds),
      STARTUP_TIMEOUT_MS,
      () => stopping,
    ))
  ) {
    if (stopping) return;
    say(`the workers did not register within ${STARTUP_TIMEOUT_MS / 1000}s; see the lines above`);
    await shutdown(1);
    return;
  }
  const w = workerIds[0]!;
  const apiHost = splitHostPort(opts.http).host;
  process.stderr.write(`
Baton is running.
  API and dashboard   ${api}
  scheduler gRPC      ${opts.grpc}
  workers             ${workerIds.join(', ')}
  jobs folder         ${opts.jobsDir}
  data                ${path.resolve(opts.dataDir)}
  gRPC security       mutual TLS 1.3, certificates in ${path.resolve(certsDir)}
  auth                ${isLoopbackHost(apiHost) ? 'API open on loopback without tokens (dev mode)' : `WARNING: API open on ${apiHost} without tokens (dev mode): anyone who can reach it can run commands`}
  logs                ${view.level === 'info' ? 'every event' : `${view.level} and worse (-v for every event)`}

Try it:
  curl -s ${api}/v1/workers
  curl -s -XPOST ${api}/start -d '{"worker_id":"${w}","command":"bash","path":"count.sh"}'
  curl -s -XPOST ${api}/stream -d '{"worker_id":"${w}","job_id":"<job_id>"}'

Ctrl-C stops everything.
`);
}

const STARTUP_TIMEOUT_MS = 30_000;

/** Polls `check` until it is true (true), the timeout passes or `cancelled` (false). */
async function until(check: () => Promise<boolean>, timeoutMs: number, cancelled: () => boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !cancelled()) {
    if (await check().catch(() => false)) return true; // not listening yet
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

async function answers(api: string): Promise<boolean> {
  return (await fetch(`${api}/healthz`)).ok;
}

async function workersUp(api: string, ids: string[]): Promise<boolean> {
  const res = await fetch(`${api}/v1/workers`);
  if (!res.ok) return false;
  const { workers } = (await res.json()) as { workers: { id: string; state: string }[] };
  return ids.every((id) => workers.some((w) => w.id === id && w.state === 'up'));
}
