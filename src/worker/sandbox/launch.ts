/**
 * How a job is started once its sandbox is decided: the program and arguments the spawner
 * execs, and the uid/gid it spawns them with. Pure.
 *
 * The fast path (no limits, no isolation) is the job itself, spawned with the job user's
 * uid and gid. Otherwise a chain of small programs runs first, each exec'ing the next, so
 * the job's pid (the process-group leader the worker watches) stays the same throughout:
 *
 *   sh -c CGROUP_JOIN … -- unshare … -- setpriv --reuid … -- PROGRAM ARGS
 *
 * - the sh wrapper writes its own pid into each cgroup.procs file, so the job is inside
 *   its cgroups before any of its code runs (writing cgroup.procs needs root, hence the
 *   privileges are dropped only at the end);
 * - util-linux unshare makes the PID, mount and network namespaces (root only); with
 *   --fork it stays as the parent and --kill-child takes the namespace down with it;
 * - util-linux setpriv switches to the job user and clears supplementary groups.
 */

export interface Tools {
  sh: string;
  unshare?: string;
  setpriv?: string;
}

export interface LaunchInput {
  program: string;
  args: string[];
  /** cgroup.procs files to join before anything else. */
  cgroupProcs: string[];
  /** Own PID and mount namespace (with /proc of its own). */
  isolate: boolean;
  /** No network: a network namespace with only a loopback that is down. */
  noNetwork: boolean;
  /** Drop to this user and group; undefined keeps the worker's. */
  runAs?: { uid: number; gid: number };
}

export interface Launch {
  program: string;
  args: string[];
  uid?: number;
  gid?: number;
}

/** Joins every cgroup.procs named before `--` (exit 125 if one cannot be written), then execs the rest. */
export const CGROUP_JOIN_SCRIPT = 'for f do if [ "$f" = -- ]; then shift; break; fi; echo $$ > "$f" || exit 125; shift; done; exec "$@"';

export function unshareArgs(isolate: boolean, noNetwork: boolean): string[] {
  const args: string[] = [];
  if (isolate) args.push('--pid', '--fork', '--kill-child', '--mount-proc');
  if (noNetwork) args.push('--net');
  return args;
}

export function buildLaunch(input: LaunchInput, tools: Tools): Launch {
  const wrapped = input.cgroupProcs.length > 0 || input.isolate || input.noNetwork;
  if (!wrapped) return { program: input.program, args: input.args, uid: input.runAs?.uid, gid: input.runAs?.gid };
  let chain: string[] = [input.program, ...input.args];
  if (input.runAs) {
    if (!tools.setpriv) throw new Error('setpriv (util-linux) is needed to run a sandboxed job as another user and was not found');
    chain = [tools.setpriv, `--reuid=${input.runAs.uid}`, `--regid=${input.runAs.gid}`, '--clear-groups', '--', ...chain];
  }
  if (input.isolate || input.noNetwork) {
    if (!tools.unshare) throw new Error('unshare (util-linux) is needed for isolation and was not found');
    chain = [tools.unshare, ...unshareArgs(input.isolate, input.noNetwork), '--', ...chain];
  }
  if (input.cgroupProcs.length > 0) {
    chain = [tools.sh, '-c', CGROUP_JOIN_SCRIPT, 'baton-cgroup', ...input.cgroupProcs, '--', ...chain];
  }
  const [program, ...args] = chain;
  return { program: program!, args };
}

/** `allowed_commands`: the command as written or its resolved path must be listed; an empty list allows any. */
export function commandAllowed(allowed: readonly string[], written: string, resolved: string | undefined): boolean {
  if (allowed.length === 0) return true;
  return allowed.includes(written) || (resolved !== undefined && allowed.includes(resolved));
}

export function commandNotAllowedMessage(command: string, workerId: string, allowed: readonly string[]): string {
  return `command "${command}" is not allowed on worker ${workerId} (allowed: ${allowed.join(', ')})`;
}
