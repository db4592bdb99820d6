import { constants } from 'node:os';

/** Pure: the exit code `baton run` ends with, like `docker run` (and a shell) would. */

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

/** "SIGTERM" → 15, using this machine's numbering (Linux and macOS agree on the common ones). */
export function signalNumber(name: string): number | undefined {
  return (constants.signals as Record<string, number | undefined>)[name];
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

/** Exit code of `baton run` when the job could not be submitted: 127/126 when the worker refused the command, else 125. */
export function runFailureExitCode(err: unknown): number {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'command_not_found') return 127;
  if (code === 'command_not_executable') return 126;
  return RUN_FAILED;
}
