/**
 * The spawner's way to start a job without fork(): the `baton_spawn` addon
 * (native/spawn.c, built by `npm ci` through node-gyp) starts it with vfork(), which does
 * not copy the caller's page tables, and reports the exit through a pidfd watched in
 * Node's own event loop. Measured on this project's 2-core VMs: the call costs the caller
 * 0.2-0.5 ms of CPU against 4.5-4.7 ms for child_process.spawn (the spawner's whole share of
 * a job, protocol included, was 0.7-1.3 ms in the e2e bench; docs/architecture.md, "Spawning").
 *
 * Node built-ins only (spawner-main.ts's rule): the addon is our own C, with no
 * dependencies of its own. child_process is not a fallback: without the addon a worker
 * does not start (an install that skipped it skipped better-sqlite3's build too).
 */
import { createRequire } from 'node:module';
import { constants } from 'node:os';

export interface NativeSpawn {
  /**
   * Starts `file` in a new session (pid = process group id), as `uid`/`gid` if given
   * (with no supplementary groups), stdin `inputFd` (absent or -1: /dev/null), stdout and stderr on `outputFd`
   * (stderr on `errorFd` when given),
   * default signal dispositions; a file without "#!" runs under /bin/sh. Throws like
   * child_process (`code` ENOENT, EACCES, EPERM…; ERR_INVALID_ARG_VALUE for a string with a
   * NUL) when it cannot start. `onExit` is called
   * once, from the event loop, with the exit code or the signal number.
   *
   * `procStat` is the text of the job's /proc/self/stat, read by the job's process itself
   * before its exec (undefined if /proc could not be read): its start time, for the run
   * journal, without waiting on the exec as a read from outside does (native/spawn.c).
   */
  spawn(
    file: string,
    argv: string[],
    envPairs: string[],
    cwd: string,
    outputFd: number,
    uid: number | undefined,
    gid: number | undefined,
    onExit: (code: number | null, signal: number | null) => void,
    inputFd?: number,
    /** The job's stderr when it is not `outputFd` (-1 for none: stdin then /dev/null). */
    errorFd?: number,
  ): { pid: number; procStat: string | undefined };
  /** Throws (`code` ENOSYS before Linux 5.3) when this kernel cannot give a pidfd, without which no exit is heard. */
  probe(): void;
  /**
   * A pipe whose read end a thread copies into `outputFd` (opened read-write; the addon keeps
   * its own duplicate): the first `headBytes` in order, then the last `tailBytes` in a ring,
   * put in order after a marker line once every writer is gone. Returns the write end, for
   * the job's stdout and stderr; `onDone` is called from the event loop when the file is final
   * (`error` an errno, 0 for none). Absent in an addon built before it (the file is then written directly).
   */
  pipeCopy?(outputFd: number, headBytes: number, tailBytes: number, onDone: (bytes: number, cutBytes: number, error: number) => void): number;
  /**
   * pipeCopy with stdout and stderr apart: two pipes copied into the one file, in the order
   * their bytes are found, and the runs saying which bytes came from which written to `runsFd`
   * (src/common/output-runs.ts). Returns the write ends, [stdout, stderr]. Absent in an addon built before it.
   */
  pipeCopySplit?(outputFd: number, runsFd: number, headBytes: number, tailBytes: number, onDone: (bytes: number, cutBytes: number, error: number) => void): [number, number];
}

/** Relative to dist/src/worker/spawner/, where this module runs from. */
const ADDON = '../../../../build/Release/baton_spawn.node';

/**
 * The addon, checked to work on this kernel. Without it no job can start, so a worker
 * checks at start-up and refuses to run with this error (the spawner, loading it again,
 * never meets it).
 */
export function loadNativeSpawn(): NativeSpawn {
  let addon: NativeSpawn;
  try {
    addon = createRequire(import.meta.url)(ADDON) as NativeSpawn;
  } catch (err) {
    throw new Error(`the job launcher addon (build/Release/baton_spawn.node) did not load: ${(err as Error).message.split('\n')[0]}; build it with npm ci (or npm run install)`);
  }
  try {
    addon.probe();
  } catch (err) {
    throw new Error(`this kernel cannot run jobs for Baton (${(err as Error).message}): a worker needs Linux 5.3 or newer, for pidfd_open`);
  }
  return addon;
}

const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(Object.entries(constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]));

/** `SIGKILL` for 9; a number no name is known for stays visible as `SIG<n>`. */
export function signalName(signal: number): NodeJS.Signals {
  return SIGNAL_NAMES.get(signal) ?? (`SIG${signal}` as NodeJS.Signals);
}
