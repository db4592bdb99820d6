import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { backoffDelayMs, type BackoffPolicy } from '../worker/backoff.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

/** A worker that dies again soon after a restart waits longer each time: 1 s, 2 s, 4 s … 30 s. */
export const RESTART_BACKOFF: BackoffPolicy = { initialMs: 1_000, maxMs: 30_000, jitter: 0 };
/** A process that ran this long before dying starts again after the shortest wait, as if it never died before. */
const STABLE_MS = 30_000;
const STOP_KILL_AFTER_MS = 15_000;

export interface LogView {
  /** One line per event on stdout: 'pretty' (a terminal: each line after the process's name) or 'json' (as is). */
  format: 'pretty' | 'json';
  level: string;
  /** Width the names are padded to, so the lines line up. */
  nameWidth: number;
}

/**
 * One process of `baton dev` (`baton scheduler …` or `baton worker …`): started, its log lines
 * passed on, and, when `restart` is set, started again with the same arguments when it dies.
 */
export class DevProcess {
  private child: ChildProcess | undefined;
  /** Deaths in a row, each soon after its start. */
  private deaths = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopping = false;

  constructor(
    readonly name: string,
    private readonly args: string[],
    private readonly view: LogView,
    /** Told when the process died on its own; `restartInMs` is set when it will be started again. */
    private readonly onDeath: (why: string, restartInMs: number | undefined) => void,
    private readonly restart: boolean,
  ) {}

  start(): void {
    const startedAt = Date.now();
    // Its own process group: a Ctrl-C on the terminal reaches `baton dev` only, which then
    // stops the workers before the scheduler. stdin is a pipe: if `baton dev` dies without
    // cleaning up, the process sees it close and shuts down (BATON_EXIT_WITH_STDIN).
    const child = spawn(process.execPath, [MAIN, ...this.args], {
      stdio: ['pipe', 'pipe', 'inherit'],
      detached: true,
      env: { ...process.env, BATON_EXIT_WITH_STDIN: '1', BATON_LOG_FORMAT: this.view.format, BATON_LOG_LEVEL: this.view.level },
    });
    this.child = child;
    const prefix = this.view.format === 'pretty' ? `${this.name.padEnd(this.view.nameWidth)} | ` : '';
    createInterface({ input: child.stdout!, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) => process.stdout.write(`${prefix}${line}\n`));
    child.once('exit', (code, signal) => {
      if (this.stopping) return;
      const why = signal ?? `code ${code}`;
      if (!this.restart) {
        this.onDeath(why, undefined);
        return;
      }
      this.deaths = Date.now() - startedAt < STABLE_MS ? this.deaths + 1 : 1;
      const delay = backoffDelayMs(this.deaths - 1, 0, RESTART_BACKOFF);
      this.onDeath(why, delay);
      this.restartTimer = setTimeout(() => this.start(), delay);
    });
  }

  get exited(): boolean {
    return this.child === undefined || this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** SIGTERM (SIGKILL when `now`, or when it has not exited within 15 s); no restart after. */
  stop(now = false): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child || this.exited) return Promise.resolve();
    return new Promise((resolve) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), STOP_KILL_AFTER_MS);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill(now ? 'SIGKILL' : 'SIGTERM');
    });
  }
}
