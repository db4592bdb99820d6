import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../common/logger.js';
import type { FailedEvent, SpawnerEvent, SpawnRequest } from './messages.js';

const SPAWNER_MAIN = fileURLToPath(new URL('./spawner-main.js', import.meta.url));
/**
 * The smallest young generation V8 allows: the spawner allocates little but steadily, and
 * with the default (16 MB semi-spaces) its RSS drifts from ~40 to ~68 MB over a few
 * thousand jobs; with 1 MB it stays ~52-58 MB. (That mattered most while jobs were forked,
 * fork() cost following RSS; they are vfork'ed now, see native-spawn.ts.)
 */
const SPAWNER_NODE_FLAGS = ['--max-semi-space-size=1'];
const CLOSE_TIMEOUT_MS = 2_000;
/**
 * Spawn requests sent and not yet answered beyond which whenReady() makes new starts wait.
 * Without it nothing slows a fast caller down: the worker accepts faster than the spawner
 * forks when they share the CPU, and the backlog grew to the worker's capacity (503s in the
 * bench at 16 starts in flight). 16 is ~30-60 ms of spawning.
 */
const MAX_UNANSWERED = 16;

/** What the runner hears about one job. Exactly one of failed, exited or lost ends it. */
export interface SpawnHandlers {
  spawned(pid: number, startedAtMs: number, startTime: string | undefined): void;
  failed(failure: Pick<FailedEvent, 'stage' | 'code' | 'message'>): void;
  /** The leader exited; the spawner has already sent SIGKILL to the rest of its group. */
  exited(code: number | null, signal: NodeJS.Signals | null): void;
  /** The spawner died before reporting the job's end; `pid` is undefined if it never said the job started. */
  lost(pid: number | undefined): void;
}

type SpawnerProcess = ChildProcessByStdio<Writable, Readable, null>;

interface Pending {
  handlers: SpawnHandlers;
  pid?: number;
  /** Neither spawned nor failed yet: counts in `unanswered`. */
  unanswered: boolean;
}

/**
 * The worker's side of the spawner (./spawner-main.ts): starts it, sends spawn requests,
 * routes its events to each job's handlers, and starts a new one if it dies.
 *
 * Channel: a plain newline-delimited JSON pipe on the spawner's stdin/stdout rather than
 * Node IPC (fork). Measured with 20,000 request + 2 event round trips, 8 in flight:
 * pipe ~31 µs per job in the worker and ~29 µs in the child; IPC 'json' ~34 / ~34 µs;
 * IPC 'advanced' ~50 / ~56 µs. Besides being the cheapest, the pipe lets us choose the
 * child's Node flags (fork would copy the worker's execArgv, e.g. --cpu-prof) and keeps
 * the spawner's descriptors to 0-2, which every job gets replaced. All of it is small
 * next to the ~1 ms a spawn costs in the spawner, so events are not batched.
 */
export class SpawnerClient {
  private child: SpawnerProcess | undefined;
  private readonly pending = new Map<string, Pending>();
  private closing: Promise<void> | undefined;
  private unanswered = 0;
  private waiters: (() => void)[] = [];

  constructor(private readonly log: Logger) {}

  /** Starts the spawner now rather than with the first job. */
  start(): void {
    this.ensureChild();
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

  /** Sends the request; the handlers hear the outcome. Cheap: one pipe write, no fork here. */
  spawn(request: Omit<SpawnRequest, 'type'>, handlers: SpawnHandlers): void {
    if (this.closing) {
      handlers.failed({ stage: 'spawn', message: 'the worker is shutting down' });
      return;
    }
    const child = this.ensureChild();
    this.pending.set(request.jobId, { handlers, unanswered: true });
    this.unanswered++;
    const message: SpawnRequest = { type: 'spawn', ...request };
    child.stdin.write(`${JSON.stringify(message)}\n`);
  }

  /** Ends the spawner (which SIGKILLs any group still running) and waits for it to exit. */
  close(): Promise<void> {
    return (this.closing ??= (async () => {
      const child = this.child;
      if (!child) return;
      const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
      child.stdin.end();
      for (const wake of this.waiters.splice(0)) wake();
      const timer = setTimeout(() => child.kill('SIGKILL'), CLOSE_TIMEOUT_MS);
      await closed;
      clearTimeout(timer);
    })());
  }

  private ensureChild(): SpawnerProcess {
    if (this.child) return this.child;
    // NODE_OPTIONS is dropped: a --require meant for the worker would load into the spawner.
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const child = spawn(process.execPath, [...SPAWNER_NODE_FLAGS, SPAWNER_MAIN], { stdio: ['pipe', 'pipe', 'inherit'], env });
    this.child = child;
    // EPIPE after the spawner died: 'close' below handles the jobs.
    child.stdin.on('error', (err) => this.log.debug({ err }, 'spawner stdin error'));
    child.on('error', (err) => this.log.error({ err }, 'could not start the process spawner'));
    let buffered = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line !== '') this.onLine(line);
      }
    });
    // 'close', not 'exit': it comes after every event the spawner wrote has been read.
    child.once('close', (code, signal) => this.onClose(child, code, signal));
    this.log.debug({ pid: child.pid }, 'process spawner started');
    return child;
  }

  private onLine(line: string): void {
    let event: SpawnerEvent;
    try {
      event = JSON.parse(line) as SpawnerEvent;
    } catch {
      this.log.warn({ line: line.slice(0, 200) }, 'the process spawner wrote a line that is not JSON');
      return;
    }
    if (event.type === 'warning') {
      this.log.warn({ job_id: event.jobId }, event.message);
      return;
    }
    const entry = this.pending.get(event.jobId);
    if (!entry) {
      this.log.warn({ job_id: event.jobId, event: event.type }, 'the process spawner reported on a job it was not asked to start');
      return;
    }
    switch (event.type) {
      case 'spawned':
        this.answered(entry);
        entry.pid = event.pid;
        entry.handlers.spawned(event.pid, event.startedAtMs, event.startTime);
        break;
      case 'failed':
        this.answered(entry);
        this.pending.delete(event.jobId);
        entry.handlers.failed(event);
        break;
      case 'exited':
        this.answered(entry);
        this.pending.delete(event.jobId);
        entry.handlers.exited(event.code, event.signal);
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

  private onClose(child: SpawnerProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child === child) this.child = undefined;
    const lost = [...this.pending.values()];
    this.pending.clear();
    for (const entry of lost) this.answered(entry);
    if (this.closing && lost.length === 0) return;
    this.log.error(
      { code, signal, pid: child.pid, lost_jobs: lost.length },
      this.closing ? 'the process spawner exited during shutdown' : 'the process spawner died; its jobs are marked failed, a new one starts with the next job',
    );
    for (const entry of lost) entry.handlers.lost(entry.pid);
  }
}
