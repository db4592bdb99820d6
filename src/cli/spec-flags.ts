import { type Command, Option } from 'commander';
import type { SubmitJobRequest } from '../client/index.js';
import { IO_KEYS, parseCpu, parseIoLimits, parseMemory, parsePids } from '../worker/sandbox/limits.js';
import { argument } from './arguments.js';

/**
 * The flags for the rest of a job's spec, one a field of POST /v1/jobs: `name`,
 * `resources` (cpu, memory, pids, io), `network`, `isolate` and `run_on`. Shared by
 * `baton run` and `baton schedule create`, beside the flags of run.ts.
 */
export interface SpecFlags {
  name?: string;
  cpu?: number;
  memory?: string;
  pids?: number;
  io?: Record<string, number>;
  network?: 'none';
  isolate?: boolean;
  runOn?: 'all';
}

/** `--io read_bps=10MiB,write_iops=100` → the API's `resources.io`, keys as the API spells them. */
function ioLimits(text: string): Record<string, number> {
  const parsed = parseIoLimits(text, '--io');
  return Object.fromEntries(Object.entries(parsed).map(([name, value]) => [IO_KEYS[name as keyof typeof IO_KEYS], value]));
}

/** Adds the SpecFlags to `command`. */
export function withSpecOptions(command: Command): Command {
  return command
    .addOption(new Option('--name <name>', 'a display name for the job, shown by ps and status (need not be unique)'))
    .addOption(new Option('--cpu <cpus>', 'CPU limit: 0.5 is half of one CPU').argParser(argument((t) => parseCpu(t))))
    .addOption(
      new Option('--memory <size>', 'memory limit, e.g. 512MiB, 2G').argParser(
        argument((t) => {
          parseMemory(t);
          return t;
        }),
      ),
    )
    .addOption(new Option('--pids <n>', 'most processes and threads the job may have').argParser(argument((t) => parsePids(t))))
    .addOption(new Option('--io <limits>', 'disk I/O a second: read_bps, write_bps, read_iops, write_iops (e.g. write_bps=10MiB,read_iops=100)').argParser(argument(ioLimits)))
    .addOption(new Option('--network <mode>', 'none: a network namespace with no usable interface (root worker)').choices(['none']))
    .addOption(new Option('--isolate', 'own PID and mount namespace, its own /proc (root worker)'))
    .addOption(new Option('--run-on <where>', 'all: one copy on every matching worker, under a parent job').choices(['all']));
}

/** Pure: `request` with the fields the SpecFlags ask for. */
export function withSpec(request: SubmitJobRequest, flags: SpecFlags): SubmitJobRequest {
  const out: SubmitJobRequest = { ...request };
  if (flags.name !== undefined) out.name = flags.name;
  const resources: NonNullable<SubmitJobRequest['resources']> = {};
  if (flags.cpu !== undefined) resources.cpu = flags.cpu;
  if (flags.memory !== undefined) resources.memory = flags.memory;
  if (flags.pids !== undefined) resources.pids = flags.pids;
  if (flags.io !== undefined) resources.io = flags.io;
  if (Object.keys(resources).length > 0) out.resources = resources;
  if (flags.network !== undefined) out.network = flags.network;
  if (flags.isolate) out.isolate = true;
  if (flags.runOn !== undefined) out.run_on = flags.runOn;
  return out;
}
