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
 * It is also the jobs' supervisor: started detached (its own session), it outlives
 * `baton worker`. The worker talks to it over `<data-dir>/supervisor.sock` (protocol in
 * ./messages.ts, one connection at a time); a worker restarted on the same data folder
 * connects again and is told which jobs still run. Each job's end is written to
 * `<data-dir>/ends/` before it is reported (./end-records.ts), so an end seen while no
 * worker is connected is not lost. With no worker connected for `windowMs`, it stops
 * its jobs (SIGTERM, SIGKILL after `graceMs`), records their ends, and exits; with no
 * jobs and no worker it exits at once. A worker closing on purpose sends `shutdown`.
 * Diagnostics go back as 'warning' events, or to stderr (`<data-dir>/supervisor.log`).
 */
import { closeSync, constants, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { writeEndRecord, type EndRecord } from './end-records.js';
import { readLines } from './lines.js';
import {
  agreedVersion,
  OLDEST_PROTOCOL_VERSION,
  PROTOCOL_VERSION,
  type OutputEnd,
  type OutputSplit,
  type RunningJob,
  type SpawnerEvent,
  type SpawnerRequest,
  type SpawnRequest,
} from './messages.js';
import { processStartTime } from '../journal/proc-stat.js';
import { loadNativeSpawn, signalName } from './native-spawn.js';

/** What the worker passes as the one argument (JSON). */
export interface SupervisorConfig {
  /** The worker whose jobs these are. */
  workerId: string;
  socketPath: string;
  endsDir: string;
  /** How long jobs go on with no worker connected before they are stopped. */
  windowMs: number;
  /** SIGTERM → SIGKILL when they are. */
  graceMs: number;
}

/**
 * Written directly by the job (an addon without pipeCopy): O_APPEND so that after the
 * worker's cap check cuts the file, the job's writes land at the new end instead of leaving a
 * hole; O_TRUNC because a file left by an earlier run with the same id is stale.
 */
const OUTPUT_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_TRUNC;
/** Written by the copy (native/spawn.c): at the offsets it chooses, and read back to put an over-cap tail in order. */
const COPIED_OUTPUT_FLAGS = constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC;
/** Appended to by the copy (native/spawn.c): which stream each byte of the output came from. */
const COPIED_RUNS_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC;
const OUTPUT_MODE = 0o640;
/**
 * After the leader exits (and its group is killed), how long its end waits for the output
 * copy to reach the end of the pipe: a process that left the group (setsid) may hold the pipe
 * open; the job ends without it, and the copy finishes when that process does.
 */
const COPY_DRAIN_MS = 2_000;

const config = JSON.parse(process.argv[2] ?? '{}') as SupervisorConfig;
/** Leaders started and not yet exited, by job id. */
const jobs = new Map<string, RunningJob>();
/** The output copies of running jobs, each settled with what it wrote once its file is final. */
const copies = new Map<string, Promise<OutputEnd>>();
let worker: Socket | undefined;
let orphanTimer: NodeJS.Timeout | undefined;
/** Set once the window passed: the time it was, for the end records. */
let orphanedAfterMs: number | undefined;
const native = loadNativeSpawn();

function send(event: SpawnerEvent, to: Socket | undefined = worker): void {
  // With no worker connected an event is dropped: an end is on disk already, and nothing else is pending without one.
  if (to && !to.destroyed) to.write(`${JSON.stringify(event)}\n`);
}

function signalGroup(jobId: string, pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (err) {
    // ESRCH: nothing left in the group, which is what we wanted.
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') {
      warn(`could not send ${signal} to process group ${pid}: ${(err as Error).message}`, jobId);
    }
  }
}

function warn(message: string, jobId?: string): void {
  if (worker) send({ type: 'warning', message, ...(jobId ? { jobId } : {}) });
  else logLine(`${new Date().toISOString()} supervisor: ${jobId ? `job ${jobId}: ` : ''}${message}\n`);
}

/**
 * To stderr (supervisor.log) directly: process.stderr would raise an 'error' event if the write
 * fails, and with a full disk (the moment there is most to say) that would end this process
 * and leave its jobs without a supervisor. A line that cannot be written is lost, not fatal.
 */
function logLine(line: string): void {
  try {
    writeSync(2, line);
  } catch {
    // ENOSPC, EIO: nowhere left to say it.
  }
}

function startJob(request: SpawnRequest): void {
  const { jobId } = request;
  const copied = request.output !== undefined && native.pipeCopy !== undefined;
  const split = copied && request.runsPath !== undefined && native.pipeCopySplit !== undefined;
  let stdinFd: number | undefined;
  if (request.stdinPath !== undefined) {
    try {
      stdinFd = openSync(request.stdinPath, constants.O_RDONLY);
    } catch (err) {
      send({ type: 'failed', jobId, stage: 'stdin', code: (err as NodeJS.ErrnoException).code, message: (err as Error).message });
      return;
    } finally {
      removeFile(request.stdinPath);
    }
  }
  // Our descriptors, closed once the job and the copy hold their own.
  const opened: number[] = stdinFd === undefined ? [] : [stdinFd];
  const closeOpened = (): void => {
    for (const fd of opened) closeSync(fd);
  };
  let fd: number;
  let writeFds: [number, number];
  try {
    // The runs before the output: a reader that finds the output file and no runs knows the job's streams are not kept apart.
    const runsFd = split ? openSync(request.runsPath!, COPIED_RUNS_FLAGS, OUTPUT_MODE) : -1;
    if (split) opened.push(runsFd);
    fd = openSync(request.outputPath, copied ? COPIED_OUTPUT_FLAGS : OUTPUT_FLAGS, OUTPUT_MODE);
    opened.push(fd);
    writeFds = copied ? startCopy(jobId, fd, runsFd, request.output!) : [fd, fd];
    for (const w of new Set(writeFds)) if (w !== fd) opened.push(w);
  } catch (err) {
    closeOpened();
    send({ type: 'failed', jobId, stage: 'open', code: (err as NodeJS.ErrnoException).code, message: (err as Error).message });
    return;
  }
  try {
    spawnJob(request, writeFds, stdinFd);
  } catch (err) {
    copies.delete(jobId);
    send({ type: 'failed', jobId, stage: 'spawn', code: (err as NodeJS.ErrnoException).code, message: (err as Error).message });
  } finally {
    // The child has its own copies of the descriptors now (it has exec'd when spawn returns); the copy, its own of the files.
    closeOpened();
  }
}

/** The stdin file is read through its open descriptor only: a retry gets a file of its own. */
function removeFile(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // ENOENT: nothing to remove.
  }
}

/**
 * Starts the copy of a job's output (native/spawn.c, pipeCopy; pipeCopySplit when `runsFd` is
 * a file for the runs); returns the write ends for the job's stdout and stderr (one pipe for both when not split).
 */
function startCopy(jobId: string, fd: number, runsFd: number, split: OutputSplit): [number, number] {
  let resolve!: (end: OutputEnd) => void;
  // Kept in `copies` until the job's end takes it: the copy may finish before the exit is heard.
  const done = new Promise<OutputEnd>((r) => (resolve = r));
  const onDone = (bytes: number, cutBytes: number, error: number): void => {
    if (error !== 0) warn(`the copy of the job's output failed (errno ${error}); its output file may be short`, jobId);
    resolve({ bytes, cutBytes });
  };
  // Called outside the promise, so that a copy that cannot start throws to startJob (a failed start) rather than rejecting unheard.
  const writeFd = runsFd >= 0 ? undefined : native.pipeCopy!(fd, split.headBytes, split.tailBytes, onDone);
  const writeFds: [number, number] = writeFd === undefined ? native.pipeCopySplit!(fd, runsFd, split.headBytes, split.tailBytes, onDone) : [writeFd, writeFd];
  copies.set(jobId, done);
  return writeFds;
}

function spawnJob(request: SpawnRequest, [fd, errorFd]: [number, number], stdinFd: number | undefined): void {
  const { jobId } = request;
  const argv = [request.program, ...request.args];
  const env = Object.entries(request.env).map(([name, value]) => `${name}=${value}`);
  const onExit = (code: number | null, signal: number | null): void => void exited(jobId, code, signal === null ? null : signalName(signal));
  // The descriptor only when there is one: an addon built before it was an argument still starts every other job.
  const { pid, procStat } =
    errorFd !== fd
      ? native.spawn(request.program, argv, env, request.cwd, fd, request.uid, request.gid, onExit, stdinFd ?? -1, errorFd)
      : stdinFd === undefined
        ? native.spawn(request.program, argv, env, request.cwd, fd, request.uid, request.gid, onExit)
        : native.spawn(request.program, argv, env, request.cwd, fd, request.uid, request.gid, onExit, stdinFd);
  const startedAtMs = Date.now();
  const startTime = procStat === undefined ? undefined : processStartTime(procStat);
  jobs.set(jobId, { jobId, pid, startedAtMs, startTime, meta: request.meta });
  send({ type: 'spawned', jobId, pid, startedAtMs, startTime });
}

async function exited(jobId: string, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
  const job = jobs.get(jobId);
  if (!job) return;
  jobs.delete(jobId);
  // Whatever the leader left behind in its group dies with it, before the pid can be reused.
  signalGroup(jobId, job.pid, 'SIGKILL');
  const endedAtMs = Date.now();
  // The end is reported once the output file is final, so whoever reads it then reads it all.
  const copy = copies.get(jobId);
  copies.delete(jobId);
  let drainTimer: NodeJS.Timeout | undefined;
  const output = copy && (await Promise.race([copy, new Promise<undefined>((resolve) => (drainTimer = setTimeout(() => resolve(undefined), COPY_DRAIN_MS)))]));
  clearTimeout(drainTimer);
  if (copy && !output) warn(`a process of the job still holds its output open ${COPY_DRAIN_MS} ms after the job ended; the job ends without waiting for it`, jobId);
  const record: EndRecord = {
    jobId,
    pid: job.pid,
    code,
    signal,
    startedAtMs: job.startedAtMs,
    endedAtMs,
    meta: job.meta,
    ...(orphanedAfterMs === undefined ? {} : { orphanedAfterMs }),
    ...(output ? { output } : {}),
  };
  try {
    writeEndRecord(config.endsDir, record);
  } catch (err) {
    // Disk full or the folder gone: a worker connected still hears the end; a later one reports the job lost.
    warn(`could not write the end record of the job (${(err as Error).message}); if no worker hears this end, the job will be reported lost`, jobId);
  }
  send({ type: 'exited', jobId, code, signal, ...(output ? { output } : {}) });
  if (!worker && jobs.size === 0) process.exit(0);
}

function handle(socket: Socket, line: string, greeted: boolean): boolean {
  let request: SpawnerRequest;
  try {
    request = JSON.parse(line) as SpawnerRequest;
  } catch {
    send({ type: 'warning', message: `supervisor: ignored a request that is not JSON: ${line.slice(0, 200)}` }, socket);
    return greeted;
  }
  if (!greeted) {
    const version = request.type === 'hello' ? agreedVersion(request) : undefined;
    if (request.type !== 'hello' || version === undefined) {
      const asked = request.type === 'hello' ? `protocol version ${String(request.version)}` : `a '${String(request.type)}' before 'hello'`;
      send(
        {
          type: 'refused',
          version: PROTOCOL_VERSION,
          message: `this supervisor speaks protocol versions ${OLDEST_PROTOCOL_VERSION} to ${PROTOCOL_VERSION}, the worker sent ${asked}`,
        },
        socket,
      );
      socket.end();
      return false;
    }
    const refusal =
      request.workerId !== config.workerId
        ? `this supervisor runs the jobs of worker ${config.workerId}, not ${String(request.workerId)} (a data folder belongs to one worker id)`
        : worker
          ? 'another worker is connected to this supervisor'
          : undefined;
    if (refusal !== undefined) {
      send({ type: 'refused', version: PROTOCOL_VERSION, message: refusal }, socket);
      socket.end();
      return false;
    }
    attach(socket, version);
    return true;
  }
  if (request.type === 'spawn') startJob(request);
  else if (request.type === 'shutdown') shutdown();
  else send({ type: 'warning', message: `supervisor: unknown request type ${JSON.stringify((request as { type?: unknown }).type)}` });
  return true;
}

function attach(socket: Socket, version: number): void {
  worker = socket;
  clearTimeout(orphanTimer);
  orphanTimer = undefined;
  send({ type: 'welcome', version, pid: process.pid, jobs: [...jobs.values()] });
  socket.once('close', () => {
    if (worker !== socket) return;
    worker = undefined;
    waitForWorker();
  });
}

/** No worker: jobs go on for the window, then are stopped; nothing to wait for ends the supervisor. */
function waitForWorker(): void {
  if (jobs.size === 0) process.exit(0);
  startWindow();
}

function startWindow(): void {
  orphanTimer = setTimeout(() => {
    if (jobs.size === 0) process.exit(0);
    orphanedAfterMs = config.windowMs;
    warn(`no worker came back within ${config.windowMs} ms: stopping ${jobs.size} job(s)`);
    for (const job of jobs.values()) signalGroup(job.jobId, job.pid, 'SIGTERM');
    setTimeout(() => {
      for (const job of jobs.values()) signalGroup(job.jobId, job.pid, 'SIGKILL');
    }, config.graceMs).unref();
  }, config.windowMs);
}

/** The worker closes on purpose, having ended every job: none may outlive it. */
function shutdown(): void {
  for (const job of jobs.values()) signalGroup(job.jobId, job.pid, 'SIGKILL');
  process.exit(0);
}

// Detached from the worker's session, so a Ctrl-C never reaches it; ignored anyway, since
// the worker owns a graceful shutdown and needs this process until the jobs have exited.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
process.on('SIGHUP', () => {});

mkdirSync(config.endsDir, { recursive: true });
// The worker starts a supervisor only after failing to connect: a socket file left is stale.
try {
  unlinkSync(config.socketPath);
} catch {
  // ENOENT
}
const server = createServer((socket) => {
  let greeted = false;
  socket.on('error', () => socket.destroy());
  readLines(socket, (line) => {
    greeted = handle(socket, line, greeted);
  });
});
// Whoever can connect can start processes as this user: the socket is the owner's alone.
const umask = process.umask(0o077);
server.listen(config.socketPath, () => {
  // The one line on stdout: the worker that started us reads it, then lets go of the pipe.
  process.stdout.write('ready\n');
  // The worker that starts us connects at once; if it died first, the window applies as to any worker.
  startWindow();
});
// Bound by now (listen binds a Unix socket synchronously); the jobs' output files keep their own mode.
process.umask(umask);
