/**
 * The spawner: a child process of the worker that does the fork/exec of every job.
 *
 * Why: fork() copies the page tables of the process that calls it, so spawn() gets slower
 * as that process grows. The worker (gRPC, protobuf, pino) sits at 115-130 MB RSS and
 * paid ~4-5 ms of blocked event loop per job; this process loads nothing but Node
 * built-ins, stays near Node's minimum RSS, and spawns at the raw rate.
 *
 * And it starts jobs without fork() at all (./native-spawn.ts, vfork in our own addon):
 * fork() was still 3.5-4.7 ms of CPU per job here, the vfork call 0.2-0.5 ms.
 *
 * RULE: import only `node:` modules here (and types), our own addon, and modules that
 * follow this rule. Anything else would pull the project's dependencies into this
 * process and undo the point of it.
 *
 * Protocol (./messages.ts): a request per line on stdin, an event per line on stdout.
 * stdout is the protocol channel, so nothing else may be written to it; diagnostics go
 * back as 'warning' events, crashes to stderr (inherited from the worker).
 *
 * No job outlives the worker: when stdin ends (the worker exited or died, even by
 * SIGKILL, since the kernel closes its end of the pipe) every process group started
 * here whose leader is still running is sent SIGKILL, and the spawner exits.
 */
import { closeSync, constants, openSync } from 'node:fs';
import type { SpawnerEvent, SpawnerRequest, SpawnRequest } from './messages.js';
import { processStartTime } from '../journal/proc-stat.js';
import { loadNativeSpawn, signalName } from './native-spawn.js';

/**
 * O_APPEND so that after the worker's cap check cuts the file, the job's writes land at
 * the new end instead of leaving a hole; O_TRUNC because a file left by an earlier run
 * with the same id is stale.
 */
const OUTPUT_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_TRUNC;
const OUTPUT_MODE = 0o640;

/** Leaders started and not yet exited: job id → pid (= process group id). */
const groups = new Map<string, number>();
let ending = false;
const native = loadNativeSpawn();

function send(event: SpawnerEvent): void {
  if (ending) return;
  // One write per event: measured, the pipe costs ~30 µs per job on each side against
  // ~1 ms for the spawn itself, so batching events would not pay.
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

function killGroup(jobId: string, pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch (err) {
    // ESRCH: nothing left in the group, which is what we wanted.
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') {
      send({ type: 'warning', jobId, message: `could not kill process group ${pid}: ${(err as Error).message}` });
    }
  }
}

function startJob(request: SpawnRequest): void {
  const { jobId } = request;
  let fd: number;
  try {
    fd = openSync(request.outputPath, OUTPUT_FLAGS, OUTPUT_MODE);
  } catch (err) {
    send({ type: 'failed', jobId, stage: 'open', code: (err as NodeJS.ErrnoException).code, message: (err as Error).message });
    return;
  }
  try {
    spawnJob(request, fd);
  } catch (err) {
    send({ type: 'failed', jobId, stage: 'spawn', code: (err as NodeJS.ErrnoException).code, message: (err as Error).message });
  } finally {
    // The child has its own copy of the descriptor now (it has exec'd when spawn returns).
    closeSync(fd);
  }
}

function spawnJob(request: SpawnRequest, fd: number): void {
  const { jobId } = request;
  const argv = [request.program, ...request.args];
  const env = Object.entries(request.env).map(([name, value]) => `${name}=${value}`);
  const { pid, procStat } = native.spawn(request.program, argv, env, request.cwd, fd, request.uid, request.gid, (code, signal) =>
    exited(jobId, pid, code, signal === null ? null : signalName(signal)),
  );
  groups.set(jobId, pid);
  send({ type: 'spawned', jobId, pid, startedAtMs: Date.now(), startTime: procStat === undefined ? undefined : processStartTime(procStat) });
}

function exited(jobId: string, pid: number, code: number | null, signal: NodeJS.Signals | null): void {
  groups.delete(jobId);
  // Whatever the leader left behind in its group dies with it, before the pid can be reused.
  killGroup(jobId, pid);
  send({ type: 'exited', jobId, code, signal });
}

function handle(line: string): void {
  let request: SpawnerRequest;
  try {
    request = JSON.parse(line) as SpawnerRequest;
  } catch {
    send({ type: 'warning', message: `spawner: ignored a request that is not JSON: ${line.slice(0, 200)}` });
    return;
  }
  if (request.type === 'spawn') startJob(request);
  else send({ type: 'warning', message: `spawner: unknown request type ${JSON.stringify((request as { type?: unknown }).type)}` });
}

/** The worker is gone (or closed us): no job may outlive it. */
function end(): void {
  if (ending) return;
  ending = true;
  for (const [jobId, pid] of groups) killGroup(jobId, pid);
  groups.clear();
  process.exit(0);
}

// The worker owns shutdown: a Ctrl-C reaches the whole foreground process group, and the
// worker answers it by stopping jobs gracefully, which needs this process alive until the
// jobs have exited. The spawner ends when its stdin closes.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
process.on('SIGHUP', () => {});

let buffered = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  buffered += chunk;
  let nl: number;
  while ((nl = buffered.indexOf('\n')) >= 0) {
    const line = buffered.slice(0, nl);
    buffered = buffered.slice(nl + 1);
    if (line !== '') handle(line);
  }
});
process.stdin.on('end', end);
process.stdin.on('error', end);
// EPIPE: the worker died before reading what we wrote.
process.stdout.on('error', end);
