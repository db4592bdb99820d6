import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../common/logger.js';
import { ENDS_DIR, removeEndRecord } from './end-records.js';
import { readLines } from './lines.js';
import {
  OLDEST_PROTOCOL_VERSION,
  PROTOCOL_VERSION,
  type FailedEvent,
  type OutputEnd,
  type RunningJob,
  type SpawnerEvent,
  type SpawnerRequest,
  type SpawnRequest,
  type WelcomeEvent,
} from './messages.js';
import type { SupervisorConfig } from './spawner-main.js';

const SPAWNER_MAIN = fileURLToPath(new URL('./spawner-main.js', import.meta.url));
/**
 * The smallest young generation V8 allows: the spawner allocates little but steadily, and
 * with the default (16 MB semi-spaces) its RSS drifts from ~40 to ~68 MB over a few
 * thousand jobs; with 1 MB it stays ~52-58 MB. (That mattered most while jobs were forked,
 * fork() cost following RSS; they are vfork'ed now, see native-spawn.ts.)
 */
const SPAWNER_NODE_FLAGS = ['--max-semi-space-size=1'];
const CLOSE_TIMEOUT_MS = 2_000;
const HANDSHAKE_TIMEOUT_MS = 5_000;
/** sun_path holds 108 bytes with its NUL. */
const MAX_SOCKET_PATH_BYTES = 107;
export const SUPERVISOR_SOCKET = 'supervisor.sock';
export const SUPERVISOR_LOG = 'supervisor.log';
/**
 * Spawn requests sent and not yet answered beyond which whenReady() makes new starts wait.
 * Without it nothing slows a fast caller down: the worker accepts faster than the spawner
 * forks when they share the CPU, and the backlog grew to the worker's capacity (503s in the
 * bench at 16 starts in flight). 16 is ~30-60 ms of spawning.
 */
const MAX_UNANSWERED = 16;

export interface SupervisorOptions {
  workerId: string;
  dataDir: string;
  /** How long the supervisor keeps jobs running with no worker connected. */
  windowMs: number;
  /** SIGTERM → SIGKILL when it then stops them. */
  graceMs: number;
}

/** What the runner hears about one job. Exactly one of failed, exited or lost ends it. */
export interface SpawnHandlers {
  spawned(pid: number, startedAtMs: number, startTime: string | undefined): void;
  failed(failure: Pick<FailedEvent, 'stage' | 'code' | 'message'>): void;
  /** The leader exited; the spawner has already sent SIGKILL to the rest of its group. */
  exited(code: number | null, signal: NodeJS.Signals | null, output?: OutputEnd): void;
  /** The spawner died before reporting the job's end; `pid` is undefined if it never said the job started. */
  lost(pid: number | undefined): void;
}

/** The supervisor closed the connection before answering `hello`. */
class HandshakeCut extends Error {}

interface Pending {
  /** Absent for a job taken back from the supervisor until the runner adopts it: its events wait in `early`. */
  handlers?: SpawnHandlers;
  early?: SpawnerEvent[];
  pid?: number;
  /** Neither spawned nor failed yet: counts in `unanswered`. */
  unanswered: boolean;
}

/**
 * The worker's side of the supervisor (./spawner-main.ts): connects to it over
 * `<data-dir>/supervisor.sock`, starting one (detached, so it outlives this process) when
 * none answers; sends spawn requests and routes its events to each job's handlers; a
 * supervisor that dies is replaced with the next job.
 *
 * Channel: newline-delimited JSON, as on the pipe this replaced (measured there: ~30 µs per
 * job on each side against ~1 ms for a spawn, so events are not batched); a Unix socket
 * because the worker that reads it may be a later process than the one that started it.
 */
export class SpawnerClient {
  private socket: Socket | undefined;
  private connecting: Promise<Socket> | undefined;
  private readonly pending = new Map<string, Pending>();
  private closing: Promise<void> | undefined;
  private unanswered = 0;
  private waiters: (() => void)[] = [];
  private welcome: ((event: WelcomeEvent | Error) => void) | undefined;
  /** The supervisor's pid, once connected. */
  supervisorPid: number | undefined;
  /** The protocol version agreed with the supervisor: below 2 (an earlier release's supervisor), a job cannot be given stdin. */
  protocolVersion: number | undefined;
  /** Whether this client had to start the supervisor (none was left running by an earlier worker process). */
  startedSupervisor = false;

  constructor(
    private readonly log: Logger,
    private readonly options: SupervisorOptions,
  ) {}

  private get socketPath(): string {
    return path.join(this.options.dataDir, SUPERVISOR_SOCKET);
  }

  /**
   * Connects to the supervisor of this data folder, starting one if none answers. Resolves
   * with the jobs it still runs (started by an earlier worker process): each must be
   * adopt()ed, or its events are held.
   */
  async connect(): Promise<RunningJob[]> {
    const welcome = await this.handshake();
    return welcome.jobs;
  }

  /**
   * Resolves at once unless MAX_UNANSWERED spawn requests are waiting for their answer;
   * then when one is answered. A soft limit: every waiter is woken and checks again.
   */
  async whenReady(): Promise<void> {
    while (this.unanswered >= MAX_UNANSWERED && !this.closing) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Sends the request; the handlers hear the outcome. Cheap: one socket write, no fork here. */
  spawn(request: Omit<SpawnRequest, 'type'>, handlers: SpawnHandlers): void {
    if (this.closing) {
      handlers.failed({ stage: 'spawn', message: 'the worker is shutting down' });
      return;
    }
    this.pending.set(request.jobId, { handlers, unanswered: true });
    this.unanswered++;
    const message: SpawnRequest = { type: 'spawn', ...request };
    if (this.socket) {
      this.write(this.socket, message);
      return;
    }
    this.ensureConnected().then(
      (socket) => this.write(socket, message),
      (err: unknown) => {
        const entry = this.pending.get(request.jobId);
        if (!entry) return;
        this.pending.delete(request.jobId);
        this.answered(entry);
        handlers.failed({ stage: 'spawn', message: `cannot reach the job supervisor: ${(err as Error).message}` });
      },
    );
  }

  /** Routes the events of a job the supervisor reported in its welcome to `handlers` (with any that came first). */
  adopt(jobId: string, handlers: SpawnHandlers): void {
    const entry = this.pending.get(jobId);
    if (!entry) {
      handlers.lost(undefined);
      return;
    }
    entry.handlers = handlers;
    for (const event of entry.early?.splice(0) ?? []) this.route(entry, event);
  }

  /** The worker closes with every job ended: the supervisor stops anything left and exits; resolves once it has. */
  close(): Promise<void> {
    return (this.closing ??= (async () => {
      for (const wake of this.waiters.splice(0)) wake();
      const socket = this.socket;
      if (!socket) return;
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      this.write(socket, { type: 'shutdown' });
      const timer = setTimeout(() => socket.destroy(), CLOSE_TIMEOUT_MS);
      await closed;
      clearTimeout(timer);
    })());
  }

  /** The worker has taken the job's end in: the supervisor's record of it goes. */
  endTakenIn(jobId: string): void {
    removeEndRecord(path.join(this.options.dataDir, ENDS_DIR), jobId);
  }

  /** Lets go of the supervisor and its jobs, which keep running for the next worker on this data folder. */
  detach(): void {
    this.closing ??= Promise.resolve();
    this.socket?.destroy();
  }

  private write(socket: Socket, message: SpawnerRequest): void {
    socket.write(`${JSON.stringify(message)}\n`);
  }

  private ensureConnected(): Promise<Socket> {
    return (this.connecting ??= this.handshake().then(() => this.socket!));
  }

  private async handshake(): Promise<WelcomeEvent> {
    if (Buffer.byteLength(this.socketPath) > MAX_SOCKET_PATH_BYTES) {
      throw new Error(`the data folder's path is too long for the supervisor's socket ${this.socketPath} (at most ${MAX_SOCKET_PATH_BYTES} bytes); choose a shorter --data-dir`);
    }
    try {
      return await this.tryHandshake();
    } catch (err) {
      if (!(err instanceof HandshakeCut)) throw err;
      // A supervisor dying as we dialled: the kernel may queue the connection on its listening socket before closing it. The next dial is refused and starts a new one.
      return this.tryHandshake();
    }
  }

  private async tryHandshake(): Promise<WelcomeEvent> {
    const socket = await this.dial().catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT' && err.code !== 'ECONNREFUSED') throw err;
      await this.startSupervisor();
      return this.dial();
    });
    const answer = new Promise<WelcomeEvent | Error>((resolve) => (this.welcome = resolve));
    this.listen(socket);
    this.write(socket, { type: 'hello', version: OLDEST_PROTOCOL_VERSION, upTo: PROTOCOL_VERSION, workerId: this.options.workerId });
    const timer = setTimeout(() => this.welcome?.(new Error(`the job supervisor at ${this.socketPath} did not answer within ${HANDSHAKE_TIMEOUT_MS} ms`)), HANDSHAKE_TIMEOUT_MS);
    const welcome = await answer;
    clearTimeout(timer);
    this.welcome = undefined;
    if (welcome instanceof Error) {
      socket.destroy();
      throw welcome;
    }
    this.socket = socket;
    this.supervisorPid = welcome.pid;
    this.protocolVersion = welcome.version;
    for (const job of welcome.jobs) this.pending.set(job.jobId, { early: [], pid: job.pid, unanswered: false });
    this.log.info({ supervisor_pid: welcome.pid, running_jobs: welcome.jobs.length, protocol: welcome.version }, 'connected to the job supervisor');
    return welcome;
  }

  private dial(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = connect(this.socketPath);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(socket);
      });
      socket.once('error', reject);
    });
  }

  /** Starts a supervisor in its own session (a signal to the worker's group does not reach it) and waits for its socket. */
  private async startSupervisor(): Promise<void> {
    const { workerId, dataDir, windowMs, graceMs } = this.options;
    const config: SupervisorConfig = { workerId, socketPath: this.socketPath, endsDir: path.join(dataDir, ENDS_DIR), windowMs, graceMs };
    // NODE_OPTIONS is dropped: a --require meant for the worker would load into the supervisor.
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const logFd = openSync(path.join(dataDir, SUPERVISOR_LOG), 'a');
    const child = spawn(process.execPath, [...SPAWNER_NODE_FLAGS, SPAWNER_MAIN, JSON.stringify(config)], { detached: true, stdio: ['ignore', 'pipe', logFd], env });
    closeSync(logFd);
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => reject(new Error(`the job supervisor exited at start (code ${code}, signal ${signal}); see ${path.join(dataDir, SUPERVISOR_LOG)}`)));
      child.stdout!.setEncoding('utf8');
      child.stdout!.once('data', () => resolve());
    });
    child.removeAllListeners('exit');
    child.stdout!.destroy();
    child.unref();
    this.startedSupervisor = true;
    this.log.debug({ pid: child.pid }, 'job supervisor started');
  }

  private listen(socket: Socket): void {
    // EPIPE after the supervisor died: 'close' below handles the jobs.
    socket.on('error', (err) => this.log.debug({ err }, 'job supervisor socket error'));
    readLines(socket, (line) => this.onLine(line));
    socket.once('close', () => this.onClose(socket));
  }

  private onLine(line: string): void {
    let event: SpawnerEvent;
    try {
      event = JSON.parse(line) as SpawnerEvent;
    } catch {
      this.log.warn({ line: line.slice(0, 200) }, 'the job supervisor wrote a line that is not JSON');
      return;
    }
    switch (event.type) {
      case 'welcome':
        if (event.version >= OLDEST_PROTOCOL_VERSION && event.version <= PROTOCOL_VERSION) this.welcome?.(event);
        else this.welcome?.(new Error(`the job supervisor speaks protocol version ${event.version}, this worker ${OLDEST_PROTOCOL_VERSION} to ${PROTOCOL_VERSION}`));
        return;
      case 'refused':
        this.welcome?.(
          new Error(
            `the job supervisor of this data folder (${this.socketPath}) refused this worker: ${event.message}; its jobs keep running. Start the worker that started them (the same id, a release speaking its protocol), or end that supervisor (it logs to supervisor.log) and its jobs`,
          ),
        );
        return;
      case 'warning':
        this.log.warn({ job_id: event.jobId }, event.message);
        return;
    }
    const entry = this.pending.get(event.jobId);
    if (!entry) {
      this.log.warn({ job_id: event.jobId, event: event.type }, 'the job supervisor reported on a job it was not asked to start');
      return;
    }
    if (!entry.handlers) entry.early?.push(event);
    else this.route(entry, event);
  }

  private route(entry: Pending, event: SpawnerEvent): void {
    const handlers = entry.handlers!;
    switch (event.type) {
      case 'spawned':
        this.answered(entry);
        entry.pid = event.pid;
        handlers.spawned(event.pid, event.startedAtMs, event.startTime);
        break;
      case 'failed':
        this.answered(entry);
        this.pending.delete(event.jobId);
        handlers.failed(event);
        break;
      case 'exited':
        this.answered(entry);
        this.pending.delete(event.jobId);
        handlers.exited(event.code, event.signal, event.output);
        break;
    }
  }

  private answered(entry: Pending): void {
    if (!entry.unanswered) return;
    entry.unanswered = false;
    this.unanswered--;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private onClose(socket: Socket): void {
    this.welcome?.(new HandshakeCut('the job supervisor closed the connection during the handshake'));
    if (this.socket !== socket) return;
    this.socket = undefined;
    this.connecting = undefined;
    const lost = [...this.pending.values()];
    this.pending.clear();
    for (const entry of lost) this.answered(entry);
    if (this.closing) return;
    this.log.error({ supervisor_pid: this.supervisorPid, lost_jobs: lost.length }, 'the job supervisor died; its jobs are marked failed, a new one starts with the next job');
    for (const entry of lost) entry.handlers?.lost(entry.pid);
  }
}
