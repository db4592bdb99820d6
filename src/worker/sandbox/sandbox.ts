/**
 * The worker's job sandbox, set up once at startup: the user jobs run as, the environment
 * allow-list, the command allow-list, resource limits through cgroups, and optional
 * namespaces. `plan` checks a StartJob request against it (refusals are BAD_REQUEST, i.e.
 * INVALID_ARGUMENT), `prepare` creates the job's cgroup and says what the spawner execs.
 */
import { constants, promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { BatonError, echo } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import type { Resources } from '../../gen/baton/v1/worker.js';
import { availableControllers, neededControllers, noCgroupsMessage, type Controller } from './cgroup-layout.js';
import { Cgroups, detectCgroups, type JobCgroup } from './cgroups.js';
import { disksOf } from './disks.js';
import { buildLaunch, commandAllowed, commandNotAllowedMessage, type Launch, type Tools } from './launch.js';
import { effectiveLimits, hasLimits, LIMIT_NAMES, policyProblem, type LimitName, type LimitPolicy, type Limits } from './limits.js';
import { folderAccessProblem, resolveRunAs, type FolderStat, type RunAs } from './users.js';

export const DEFAULT_RUN_AS = 'nobody:nogroup';
export const DEFAULT_ENV_ALLOW = ['PATH', 'HOME', 'LANG', 'TZ'] as const;

export interface SandboxOptions {
  workerId: string;
  /** USER[:GROUP]; default nobody:nogroup when the worker is root (unless allowRoot and no runAs). */
  runAs?: string;
  /** Jobs may run as root: only then does a root worker without --run-as run them as itself. */
  allowRoot?: boolean;
  /** Variables passed from the worker's environment to jobs. */
  envAllow?: readonly string[];
  /** Empty: any command resolvable in PATH (or an executable inside the jobs folder). */
  allowedCommands?: readonly string[];
  limits?: LimitPolicy;
  /** Real path of the jobs folder, to check the job user can read it. */
  jobsRoot: string;
  /** The worker's data folder: with the jobs folder, where disk I/O limits apply (the disks holding them). */
  dataDir: string;
  /** Jobs still running from an earlier worker process (taken back from the supervisor): their cgroups are kept. */
  runningJobs?: ReadonlySet<string>;
}

const CONTROLLER_OF: Readonly<Record<LimitName, Controller>> = { memoryBytes: 'memory', cpu: 'cpu', pids: 'pids', readBps: 'io', writeBps: 'io', readIops: 'io', writeIops: 'io' };

/** What a validated request asks of the sandbox. */
export interface JobPlan {
  limits: Limits;
  isolate: boolean;
  noNetwork: boolean;
}

const TOOL_DIRS = ['/usr/bin', '/bin', '/usr/sbin', '/sbin', '/usr/local/bin'];

async function findTool(name: string): Promise<string | undefined> {
  for (const dir of TOOL_DIRS) {
    const file = path.join(dir, name);
    try {
      await fs.access(file, constants.X_OK);
      return file;
    } catch {
      // next
    }
  }
  return undefined;
}

export class Sandbox {
  private constructor(
    private readonly options: SandboxOptions,
    readonly isRoot: boolean,
    /** undefined: jobs run as the worker's own user. */
    readonly runAs: RunAs | undefined,
    private readonly tools: Tools,
    private readonly cgroups: Cgroups | undefined,
    /** Why there are no cgroups, when there are none. */
    private readonly noCgroupsReason: string | undefined,
    private readonly policy: LimitPolicy,
    /** Why disk I/O limits cannot be applied although cgroups can, when that is so. */
    private readonly noIoReason: string | undefined,
  ) {}

  /** Startup: throws a sentence for a setting that cannot work, logs a warning for one that half works. */
  static async create(options: SandboxOptions, log: Logger): Promise<Sandbox> {
    const uid = process.getuid?.() ?? -1;
    const isRoot = uid === 0;
    const readEtc = (file: string): string => {
      try {
        return readFileSync(file, 'utf8');
      } catch {
        return '';
      }
    };
    let runAs: RunAs | undefined;
    if (isRoot) {
      const spec = options.runAs ?? (options.allowRoot ? undefined : DEFAULT_RUN_AS);
      if (spec !== undefined) runAs = resolveRunAs(spec, readEtc('/etc/passwd'), readEtc('/etc/group'));
      if (runAs?.uid === 0 && !options.allowRoot) throw new Error(`--run-as ${spec}: jobs would run as root; pass --allow-root (allow_root = true) if that is really meant`);
      if (runAs === undefined || runAs.uid === 0) log.warn('jobs run as root (--allow-root): they can do anything on this machine');
    } else if (options.runAs !== undefined) {
      const wanted = resolveRunAs(options.runAs, readEtc('/etc/passwd'), readEtc('/etc/group'));
      if (wanted.uid !== uid) throw new Error(`--run-as ${options.runAs} needs the worker to run as root (it runs as uid ${uid}, and only root can switch users)`);
    }
    if (runAs !== undefined && runAs.uid !== 0) {
      const problem = folderAccessProblem(await folderChain(options.jobsRoot), runAs);
      if (problem)
        log.warn(
          { jobs_dir: options.jobsRoot, run_as: `${runAs.user}:${runAs.group}` },
          `jobs run as ${runAs.user} but cannot read the jobs folder: ${problem}; jobs using its scripts will fail (chmod o+rx the folders, or pick another --run-as)`,
        );
    }

    const policy = options.limits ?? { defaults: {}, max: {} };
    const policyError = policyProblem(policy);
    if (policyError) throw new Error(policyError);

    const tools: Tools = { sh: (await findTool('sh')) ?? '/bin/sh', unshare: await findTool('unshare'), setpriv: await findTool('setpriv') };

    const choice = await detectCgroups();
    let cgroups: Cgroups | undefined;
    let reason: string | undefined;
    let noIoReason: string | undefined;
    if (choice.version === 0) reason = choice.reason;
    else if (!isRoot) reason = `the worker is not root (uid ${uid}) and cannot create cgroups`;
    else {
      // I/O is throttled per disk: those holding the folders jobs write to (their output, the jobs folder).
      let ioDevices: string[] = [];
      if (availableControllers(choice).includes('io')) {
        const disks = await disksOf([options.dataDir, options.jobsRoot]);
        if ('devices' in disks) ioDevices = disks.devices;
        else noIoReason = disks.reason;
      }
      cgroups = new Cgroups(choice, options.workerId, ioDevices);
    }
    const defaultsWanted = neededControllers(policy.defaults);
    if (cgroups) {
      const swept = await cgroups.sweep(options.runningJobs ?? new Set());
      if (swept > 0) log.info({ swept }, 'removed job cgroups left by an earlier run of this worker');
      const usable = cgroups.controllers.filter((c) => c !== 'io' || noIoReason === undefined);
      const missing = defaultsWanted.filter((c) => !usable.includes(c));
      if (missing.length > 0) {
        const why = noIoReason !== undefined && missing.includes('io') ? `disk I/O cannot be limited (${noIoReason})` : `${cgroups.description} lacks that controller`;
        log.warn(`default ${missing.join(', ')} limits are configured but ${why}: jobs run without them`);
      }
      log.info(
        { cgroups: cgroups.description, io_devices: noIoReason === undefined ? cgroups.ioDevices : [], ...(noIoReason ? { io_unavailable: noIoReason } : {}) },
        'resource limits available',
      );
    } else if (defaultsWanted.length > 0) {
      log.warn(`default resource limits are configured but ${noCgroupsMessage(reason!)}; jobs run without limits`);
    }
    if (runAs !== undefined && runAs.uid !== 0 && !tools.setpriv) {
      log.warn('setpriv (util-linux) was not found: jobs with resource limits or isolation cannot switch to the job user and will be refused');
    }
    return new Sandbox(options, isRoot, runAs, tools, cgroups, reason, policy, noIoReason);
  }

  get envAllow(): readonly string[] {
    return this.options.envAllow ?? DEFAULT_ENV_ALLOW;
  }

  get allowedCommands(): readonly string[] {
    return this.options.allowedCommands ?? [];
  }

  /** Refuses a command outside allowed_commands; `resolve` gives its absolute path (it may throw "command not found"). */
  async checkCommand(command: string, resolve: () => Promise<string>): Promise<string> {
    const allowed = this.allowedCommands;
    if (allowed.length === 0 || allowed.includes(command)) return resolve();
    let program: string | undefined;
    try {
      program = await resolve();
    } catch {
      program = undefined;
    }
    if (program === undefined || !commandAllowed(allowed, command, program)) {
      throw new BatonError('BAD_REQUEST', commandNotAllowedMessage(echo(command), this.options.workerId, allowed));
    }
    return program;
  }

  /** Checks a request's limits and isolation; BAD_REQUEST with a sentence when the worker cannot or may not. */
  plan(resources: Resources | undefined, network: string, isolate: boolean): JobPlan {
    const requested: Limits = {};
    // In the protocol 0 means "not asked".
    for (const name of LIMIT_NAMES) if (resources?.[name]) requested[name] = resources[name];
    const available: Controller[] = this.cgroups ? availableControllers(this.cgroups.choice).filter((c) => c !== 'io' || this.noIoReason === undefined) : [];
    // Defaults the machine cannot enforce were warned about at startup and are dropped here.
    const policy: LimitPolicy = {
      max: this.policy.max,
      defaults: Object.fromEntries(Object.entries(this.policy.defaults).filter(([name]) => available.includes(CONTROLLER_OF[name as LimitName]))) as Limits,
    };
    const result = effectiveLimits(requested, policy, this.options.workerId);
    if ('problem' in result) throw new BatonError('BAD_REQUEST', result.problem);
    const asked = neededControllers(requested);
    if (asked.length > 0 && !this.cgroups) throw new BatonError('BAD_REQUEST', noCgroupsMessage(this.noCgroupsReason ?? 'unknown'));
    if (asked.includes('io') && this.noIoReason !== undefined) {
      throw new BatonError('BAD_REQUEST', `disk I/O limits (resources.io) cannot be applied on worker ${this.options.workerId}: ${this.noIoReason}`);
    }
    const missing = asked.filter((c) => !available.includes(c));
    if (missing.length > 0) {
      throw new BatonError('BAD_REQUEST', `${missing.join(' and ')} limits need the ${missing.join(', ')} cgroup controller, which ${this.cgroups!.description} does not have`);
    }
    if (network !== '' && network !== 'none') throw new BatonError('BAD_REQUEST', `network "${network}" is not known: use "none" (no network) or leave it out`);
    const noNetwork = network === 'none';
    if (noNetwork || isolate) {
      const what = [noNetwork ? 'network "none"' : '', isolate ? 'isolate' : ''].filter(Boolean).join(' and ');
      if (!this.isRoot) throw new BatonError('BAD_REQUEST', `${what} needs the worker to run as root (worker ${this.options.workerId} does not)`);
      if (!this.tools.unshare) throw new BatonError('BAD_REQUEST', `${what} needs util-linux unshare, which is not installed on worker ${this.options.workerId}`);
    }
    const plan: JobPlan = { limits: result.limits, isolate, noNetwork };
    if (this.runAs && this.runAs.uid !== 0 && this.wrapped(plan) && !this.tools.setpriv) {
      throw new BatonError(
        'BAD_REQUEST',
        `limits and isolation need util-linux setpriv to switch to ${this.runAs.user}, which is not installed on worker ${this.options.workerId}`,
      );
    }
    return plan;
  }

  /** Creates the job's cgroup (when it has limits) and says what to spawn. Throws INTERNAL when the cgroup cannot be made. */
  async prepare(jobId: string, plan: JobPlan, program: string, args: string[]): Promise<{ launch: Launch; cgroup?: JobCgroup }> {
    let cgroup: JobCgroup | undefined;
    if (hasLimits(plan.limits)) {
      try {
        cgroup = await this.cgroups!.create(jobId, plan.limits);
      } catch (err) {
        throw new BatonError('INTERNAL', (err as Error).message);
      }
    }
    const runAs = this.runAs && this.runAs.uid !== (process.getuid?.() ?? -1) ? { uid: this.runAs.uid, gid: this.runAs.gid } : undefined;
    const launch = buildLaunch({ program, args, cgroupProcs: cgroup?.procsFiles ?? [], isolate: plan.isolate, noNetwork: plan.noNetwork, runAs }, this.tools);
    return { launch, cgroup };
  }

  async close(): Promise<void> {
    await this.cgroups?.removeWorkerDirs();
  }

  private wrapped(plan: JobPlan): boolean {
    return hasLimits(plan.limits) || plan.isolate || plan.noNetwork;
  }
}

/** Stats of / and every folder down to `dir`. */
async function folderChain(dir: string): Promise<FolderStat[]> {
  const parts = dir.split('/').filter(Boolean);
  const chain: FolderStat[] = [];
  for (let i = 0; i <= parts.length; i++) {
    const p = `/${parts.slice(0, i).join('/')}`;
    const s = await fs.stat(p);
    chain.push({ path: p, mode: s.mode, uid: s.uid, gid: s.gid });
  }
  return chain;
}
