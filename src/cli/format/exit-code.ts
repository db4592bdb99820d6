/**
 * Pure: the exit code `baton run` ends with, like `docker run` (and a shell) would, and how the
 * CLI and the dashboard show it ("143 (SIGTERM)"). No I/O and no Node modules: the dashboard
 * bundles it, so both read a job's exit the same way.
 */

export interface FinishedJob {
  state: string;
  exit_code: number | null;
  signal: string | null;
  error: string | null;
  /** The catalogue's code of `error` (command_not_found when the worker refused the start). */
  error_code: string | null;
}

/** Exit code of `baton run` itself failing (bad flags, no worker, scheduler unreachable), as `docker run` does. */
export const RUN_FAILED = 125;

/** Linux's numbering: jobs run on Linux workers, whatever machine shows their exit. */
const SIGNALS: Readonly<Record<string, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPWR: 30,
  SIGSYS: 31,
};

/** "SIGTERM" → 15. */
export function signalNumber(name: string): number | undefined {
  return Object.hasOwn(SIGNALS, name) ? SIGNALS[name] : undefined;
}

/**
 * - succeeded → 0; an exit code → that code (a stopped job that caught SIGTERM and exited 0 → 0);
 * - killed by a signal → 128 + its number (SIGKILL → 137, SIGTERM → 143);
 * - stopped with no further detail → 143 (it was sent SIGTERM);
 * - timed out → 124 (as `timeout(1)`);
 * - could not start: command not found → 127, permission denied → 126;
 * - anything else that did not succeed (lost, …) → 1.
 * Undefined while the job has not finished.
 */
export function exitCodeFor(job: FinishedJob, lookup: (name: string) => number | undefined = signalNumber): number | undefined {
  switch (job.state) {
    case 'waiting':
    case 'queued':
    case 'dispatched':
    case 'running':
    case 'unknown':
      return undefined;
    case 'succeeded':
      return 0;
    case 'timed_out':
      // As timeout(1): whatever signal ended it, or code it exited with once told to stop.
      return 124;
  }
  // A failure always exits non-zero; a stopped job that caught SIGTERM and exited keeps its own code.
  if (job.exit_code !== null) return job.exit_code === 0 && job.state === 'failed' ? 1 : job.exit_code;
  if (job.signal) {
    const n = lookup(job.signal);
    if (n !== undefined) return 128 + n;
  }
  if (job.state === 'stopped') return 143;
  if (job.error_code === 'command_not_found') return 127;
  if (job.error_code === 'command_not_executable') return 126;
  const error = job.error ?? '';
  const killed = /killed by (?:signal )?(SIG[A-Z0-9]+)/.exec(error);
  if (killed) {
    const n = lookup(killed[1]!);
    if (n !== undefined) return 128 + n;
  }
  return 1;
}

/** "0", "127", "137 (SIGKILL)", "143 (SIGTERM)"; "-" while the job has not finished. */
export function exitText(job: FinishedJob): string {
  const code = exitCodeFor(job);
  if (code === undefined) return '-';
  return job.signal && job.exit_code === null ? `${code} (${job.signal})` : String(code);
}

/** An attempt's exit code: the job's error code belongs to its current attempt; earlier ones keep only their words. */
export function attemptExitCode(job: { attempt: number; error_code: string | null }, attempt: Omit<FinishedJob, 'error_code'> & { number: number }): number | undefined {
  return exitCodeFor({ ...attempt, error_code: attempt.number === job.attempt ? job.error_code : null });
}

/** Exit code of `baton run` when the job could not be submitted: 127/126 when the worker refused the command, else 125. */
export function runFailureExitCode(err: unknown): number {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'command_not_found') return 127;
  if (code === 'command_not_executable') return 126;
  return RUN_FAILED;
}
