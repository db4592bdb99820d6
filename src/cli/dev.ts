import { Command, Option } from 'commander';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { packageRoot } from '../common/package-root.js';
import { isLoopbackHost, joinHostPort, splitHostPort } from '../common/net.js';
import { ensureDevCerts, tlsArgs } from './certs.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

interface DevOptions {
  http: string;
  grpc: string;
  workerPort: number;
  workers: number;
  dataDir: string;
  jobsDir: string;
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
    .addHelpText('after', '\nExample:\n  baton dev && curl -s localhost:7070/v1/workers')
    .action(async (opts: DevOptions) => runCluster(opts));
}

async function runCluster(opts: DevOptions): Promise<void> {
  const { host } = splitHostPort(opts.grpc);
  const children: { name: string; child: ChildProcess }[] = [];
  let stopping = false;

  const start = (name: string, args: string[]): void => {
    // stdin is a pipe: if this process dies without cleaning up, the children see it
    // close and shut themselves down (BATON_EXIT_WITH_STDIN), so nothing is orphaned.
    const child = spawn(process.execPath, [MAIN, ...args], {
      stdio: ['pipe', 'inherit', 'inherit'],
      env: { ...process.env, BATON_EXIT_WITH_STDIN: '1' },
    });
    children.push({ name, child });
    child.on('exit', (code, signal) => {
      if (stopping) return;
      console.error(`baton dev: ${name} exited unexpectedly (${signal ?? `code ${code}`}); stopping the cluster`);
      void shutdown(1);
    });
  };

  const shutdown = async (exitCode: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    // Workers first, so they can deregister from a scheduler that is still there.
    const workers = children.filter((c) => c.name !== 'scheduler');
    await Promise.all(workers.map((c) => stopChild(c.child)));
    await Promise.all(children.filter((c) => c.name === 'scheduler').map((c) => stopChild(c.child)));
    process.exit(exitCode);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  // Dev mode: no API tokens, so curl works as is. The API is meant to stay on loopback here.
  const apiHost = splitHostPort(opts.http).host;
  // Scheduler and workers speak mutual TLS with certificates of this cluster's own CA.
  const workerIds = Array.from({ length: opts.workers }, (_, i) => `worker-${i + 1}`);
  const certsDir = path.join(opts.dataDir, 'certs');
  const created = await ensureDevCerts(certsDir, workerIds, host);
  if (created.length > 0) console.log(`baton dev: created the cluster CA and certificates in ${certsDir}`);
  start('scheduler', [
    'scheduler',
    '--http',
    opts.http,
    '--grpc',
    opts.grpc,
    '--data-dir',
    path.join(opts.dataDir, 'scheduler'),
    '--no-auth',
    ...tlsArgs(certsDir, { role: 'scheduler', name: 'scheduler' }),
  ]);
  for (const [i, id] of workerIds.entries()) {
    start(id, [
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
    ]);
  }

  const api = `http://${opts.http}`;
  const ready = await waitForWorkers(api, workerIds, 30_000, () => stopping);
  if (stopping) return;
  if (!ready) {
    console.error(`baton dev: the workers did not register within 30s; see the logs above`);
    await shutdown(1);
    return;
  }
  const w = workerIds[0]!;
  console.log(`
Baton is running.
  API and dashboard   ${api}
  scheduler gRPC      ${opts.grpc}
  workers             ${workerIds.join(', ')}
  jobs folder         ${opts.jobsDir}
  data                ${path.resolve(opts.dataDir)}
  gRPC security       mutual TLS 1.3, certificates in ${path.resolve(certsDir)}
  auth                ${isLoopbackHost(apiHost) ? 'API open on loopback without tokens (dev mode)' : `WARNING: API open on ${apiHost} without tokens (dev mode): anyone who can reach it can run commands`}

Try it:
  curl -s ${api}/v1/workers
  curl -s -XPOST ${api}/start -d '{"worker_id":"${w}","command":"bash","path":"count.sh"}'
  curl -s -XPOST ${api}/stream -d '{"worker_id":"${w}","job_id":"<job_id>"}'

Ctrl-C stops everything.
`);
}

async function waitForWorkers(api: string, ids: string[], timeoutMs: number, cancelled: () => boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !cancelled()) {
    try {
      const res = await fetch(`${api}/v1/workers`);
      if (res.ok) {
        const { workers } = (await res.json()) as { workers: { id: string; state: string }[] };
        if (ids.every((id) => workers.some((w) => w.id === id && w.state === 'up'))) return true;
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

/** SIGTERM, then SIGKILL if the process has not exited within 15s. */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
