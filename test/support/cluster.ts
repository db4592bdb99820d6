/**
 * Starts real Baton processes (`node dist/src/cli/main.js …`) on ephemeral loopback
 * ports and tracks them, so every test talks to the real thing and leaves nothing behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync, writeFileSync, chmodSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FINAL_JOB_STATES } from '../../src/client/job-states.js';
import { caFiles, certFiles, initCaFiles, issueCertFiles } from '../../src/common/certs.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
export const EXAMPLE_JOBS = fileURLToPath(new URL('../../../examples/jobs', import.meta.url));

const running = new Set<BatonProcess>();
const tempDirs: string[] = [];

/**
 * Stops every process started here and removes the temporary folders. SIGTERM first, so
 * workers stop their jobs (a SIGKILLed worker would leave them running), SIGKILL after 10s.
 */
export async function cleanUp(): Promise<void> {
  await Promise.all(
    [...running].map(async (p) => {
      const timer = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
      await p.kill('SIGTERM');
      clearTimeout(timer);
    }),
  );
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export type LogLine = Record<string, unknown> & { msg?: string };

export class BatonProcess {
  readonly logs: LogLine[] = [];
  readonly output: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: { match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    running.add(this);
    let buffered = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        // Whole lines, as printed: stderr's chunks interleave with them in output.join('').
        this.output.push(`${line}\n`);
        let parsed: LogLine;
        try {
          parsed = JSON.parse(line) as LogLine;
        } catch {
          continue;
        }
        this.logs.push(parsed);
        this.waiters = this.waiters.filter((w) => {
          if (!w.match(parsed)) return true;
          w.resolve(parsed);
          return false;
        });
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => this.output.push(chunk));
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        running.delete(this);
        resolve({ code, signal });
      }),
    );
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves with the first log line (past or future) that matches; rejects after `timeoutMs`. */
  waitForLog(match: (l: LogLine) => boolean, timeoutMs = 60_000): Promise<LogLine> {
    const seen = this.logs.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: no matching log line within ${timeoutMs}ms; output:\n${this.output.join('\n')}`)), timeoutMs);
      const exitFirst = this.exited.then(({ code, signal }) =>
        reject(new Error(`${this.name} exited (${signal ?? code}) before the expected log line; output:\n${this.output.join('\n')}`)),
      );
      void exitFirst;
      this.waiters.push({
        match,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
    });
  }

  /** Resolves once any output line contains `text`. */
  async waitForText(text: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.output.some((l) => l.includes(text))) {
      if (Date.now() > deadline) throw new Error(`${this.name}: "${text}" not printed within ${timeoutMs}ms; output:\n${this.output.join('\n')}`);
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`${this.name} exited before printing "${text}"; output:\n${this.output.join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

export function tempDir(prefix = 'baton-test-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/**
 * A jobs folder holding the given scripts (name → body), each executable. Readable by
 * everyone: a root worker runs jobs as nobody, and mkdtemp makes folders 0700.
 */
export function jobsDir(scripts: Record<string, string>): string {
  const dir = tempDir('baton-jobs-');
  chmodSync(dir, 0o755);
  for (const [name, body] of Object.entries(scripts)) {
    const file = path.join(dir, name);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, body);
    chmodSync(file, 0o755);
  }
  return dir;
}

export function startProcess(name: string, args: string[]): BatonProcess {
  const child = spawn(process.execPath, [MAIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BATON_LOG_FORMAT: 'json', BATON_LOG_LEVEL: 'info' },
  });
  return new BatonProcess(name, child);
}

export interface SchedulerHandle extends BatonProcess {
  api: string;
  grpc: string;
  dataDir: string;
  /** The cluster's CA and certificates (`<dataDir>/certs`); workers of this scheduler get theirs here. */
  certsDir: string;
}

/**
 * A cluster's certificates folder: a CA and the scheduler's certificate, made in-process on
 * first use and reused after (a scheduler restarted on the same data folder keeps its CA).
 */
export async function clusterCerts(dir: string): Promise<string> {
  if (!existsSync(caFiles(dir).cert)) await initCaFiles(dir);
  if (!existsSync(certFiles(dir, { role: 'scheduler', name: 'scheduler' }).cert)) await issueCertFiles(dir, { role: 'scheduler' });
  return dir;
}

/** Worker `name`'s certificate in `certsDir`, issued unless it is there already. */
export async function workerCert(certsDir: string, name: string): Promise<ReturnType<typeof certFiles>> {
  const files = certFiles(certsDir, { role: 'worker', name });
  if (!existsSync(files.cert)) await issueCertFiles(certsDir, { role: 'worker', name });
  return files;
}

export async function startScheduler(opts: { dataDir?: string; args?: string[] } = {}): Promise<SchedulerHandle> {
  const dataDir = opts.dataDir ?? tempDir('baton-scheduler-');
  // mTLS by default, with a CA of this cluster's own; args ['--insecure'] runs plaintext.
  const certsDir = await clusterCerts(path.join(dataDir, 'certs'));
  const proc = startProcess('scheduler', [
    'scheduler',
    '--http',
    '127.0.0.1:0',
    '--grpc',
    '127.0.0.1:0',
    '--data-dir',
    dataDir,
    '--certs-dir',
    certsDir,
    '--no-auth',
    ...(opts.args ?? []), // args ['--auth'] turns tokens on
  ]);
  const ready = await proc.waitForLog((l) => l.msg === 'scheduler ready');
  return Object.assign(proc, { api: `http://${String(ready.http)}`, grpc: String(ready.grpc), dataDir, certsDir }) as SchedulerHandle;
}

export interface WorkerHandle extends BatonProcess {
  id: string;
  dataDir: string;
}

/**
 * Starts a worker of `scheduler`. With the scheduler's `certsDir` (every handle from
 * startScheduler has one) the worker gets a certificate of that cluster for its id: the
 * given one, else the one kept in its data folder, else a new `w-…`.
 */
export async function startWorker(
  scheduler: { grpc: string; certsDir?: string },
  opts: { id?: string; jobsDir?: string; dataDir?: string; args?: string[] } = {},
): Promise<WorkerHandle> {
  const dataDir = opts.dataDir ?? tempDir('baton-worker-');
  // No drain on SIGTERM unless a test asks for one (a later --drain-timeout in opts.args wins).
  const args = ['worker', '--listen', '127.0.0.1:0', '--scheduler', scheduler.grpc, '--data-dir', dataDir, '--jobs-dir', opts.jobsDir ?? EXAMPLE_JOBS, '--drain-timeout', '0'];
  const tls = scheduler.certsDir !== undefined && !(opts.args ?? []).includes('--insecure');
  if (tls) {
    const idFile = path.join(dataDir, 'worker-id');
    const id = opts.id ?? (existsSync(idFile) ? readFileSync(idFile, 'utf8').trim() : `w-${randomBytes(4).toString('hex')}`);
    if (!existsSync(idFile)) writeFileSync(idFile, `${id}\n`); // the same id (and certificate) on a restart
    await workerCert(scheduler.certsDir!, id);
    args.push('--certs-dir', scheduler.certsDir!, '--id', id);
  } else if (opts.id) {
    args.push('--id', opts.id);
  }
  const proc = startProcess(`worker ${opts.id ?? ''}`.trim(), [...args, ...(opts.args ?? [])]);
  const registered = await proc.waitForLog((l) => l.msg === 'worker registered');
  return Object.assign(proc, { id: String(registered.worker_id), dataDir }) as WorkerHandle;
}

/** POST like `curl -d`: a form content type, a JSON body. */
export async function curlPost(url: string, body: unknown): Promise<{ status: number; json: Record<string, unknown>; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON: the caller looks at text
  }
  return { status: res.status, json, text };
}

export async function getJson(url: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** Polls `fn` until it returns a value that is not undefined, or fails after `timeoutMs`. */
export async function eventually<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** Waits until the job's stored state is final, and returns the job; a timeout names the job as last seen. */
/** POST /v1/jobs (with a token when given); the new job's id. */
export async function submitJob(api: string, body: Record<string, unknown>, token?: string): Promise<string> {
  const res = await fetch(`${api}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status !== 201) throw new Error(`submit answered ${res.status}: ${JSON.stringify(json)}`);
  return String(json.id);
}

export async function waitForFinal(api: string, jobId: string, timeoutMs = 60_000): Promise<Record<string, unknown>> {
  const final = new Set<string>(FINAL_JOB_STATES);
  let seen: unknown;
  try {
    return await eventually(
      async () => {
        const { json } = await getJson(`${api}/v1/jobs/${jobId}`);
        seen = json;
        return final.has(String(json.state)) ? json : undefined;
      },
      `job ${jobId} to finish`,
      timeoutMs,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last seen: ${JSON.stringify(seen)}`);
  }
}

/** Is any process whose command line contains `marker` still alive? */
export async function processesMatching(marker: string): Promise<string[]> {
  const { execFileSync } = await import('node:child_process');
  try {
    return execFileSync('pgrep', ['-af', marker], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l && !l.includes('pgrep'));
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

/** A loopback port free right now, for a process that must come back on the same address. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
