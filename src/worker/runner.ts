import { rm, writeFile } from 'node:fs/promises';
import type { Logger } from '../common/logger.js';
import { BatonError } from '../common/errors.js';
import { JobState, type JobStatus } from '../gen/baton/v1/common.js';
import { describeExit, describeSpawnError, formatDuration, isFinalState, stateName, type StopRequest } from './exit-status.js';
import type { JobTable } from './job-table.js';
import type { RunJournal } from './journal/run-journal.js';
import { splitCap, type OutputFiles } from './output-files.js';
import { type EndOutput, readEndOutput } from './end-output.js';
import { JobCgroup } from './sandbox/cgroups.js';
import { memoryExceededMessage } from './sandbox/cgroup-layout.js';
import type { EndRecord } from './spawner/end-records.js';
import { type JobMeta, type OutputEnd, PROTOCOL_VERSION, type RunningJob } from './spawner/messages.js';
import type { SpawnerClient, SpawnHandlers } from './spawner/spawner-client.js';

/** The error of a job whose spawner died before it reported the job's end. */
export const SPAWNER_LOST_ERROR = "lost: the worker's job supervisor died";

// Output files are checked against the cap this often while jobs run.
const CAP_CHECK_INTERVAL_MS = 250;

/** A validated job, ready to spawn. */
export interface JobSpec {
  jobId: string;
  /** The command as the caller wrote it, for messages. */
  command: string;
  /** Absolute path of the program to run. */
  program: string;
  /** The seed `path` first (when given), then the request's args. */
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** Spawn as this user and group (the sandbox's job user); absent: the worker's. */
  uid?: number;
  gid?: number;
  /** The job's cgroup, when it has limits: emptied and removed when the job ends. */
  cgroup?: JobCgroup;
  /** Its memory limit, for the message when the kernel's OOM killer ends it. */
  memoryLimitBytes?: number;
  /** Wall-clock limit from the process start (0: none); past it the job is stopped and ends timed out. */
  timeoutMs: number;
  /** Bytes for the process's stdin; absent: /dev/null. */
  stdin?: Uint8Array;
}

interface ActiveJob {
  spec: JobSpec;
  /** The leader's pid (= process group id), once the spawner reported the start. */
  pid?: number;
  /** Set when stop was asked before the process was spawned. */
  cancelled: boolean;
  stop?: StopRequest;
  killTimer?: NodeJS.Timeout;
  timeoutTimer?: NodeJS.Timeout;
  ended: boolean;
}

export interface RunnerOptions {
  workerId: string;
  capacity: number;
  defaultGraceMs: number;
  table: JobTable;
  output: OutputFiles;
  /** Does the fork/exec in a small separate process (see spawner/spawner-main.ts). */
  spawner: SpawnerClient;
  /** Records each job's process group, so a restart after a crash can find what was left running. */
  journal: RunJournal;
  log: Logger;
}

/**
 * Runs jobs as process groups (spawned detached, so each job leads its own group and
 * a signal to -pgid reaches every process it started). The spawning itself happens in the
 * spawner process; signals to the groups are sent from here.
 */
export class Runner {
  private readonly active = new Map<string, ActiveJob>();
  private capTimer: NodeJS.Timeout | undefined;
  private capCheckRunning = false;
  private accepting = true;

  constructor(private readonly options: RunnerOptions) {}

  /** Jobs starting or running: what capacity counts. */
  get activeCount(): number {
    return this.active.size;
  }

  /** Cheap checks that can refuse a start before its files are looked up. */
  checkAdmission(jobId: string): void {
    const { workerId, capacity, table } = this.options;
    if (!this.accepting) throw new BatonError('WORKER_DOWN', 'worker is shutting down');
    if (table.has(jobId)) throw new BatonError('ALREADY_EXISTS', `job ${jobId} already exists on worker ${workerId}`);
    if (this.active.size >= capacity) {
      throw new BatonError('WORKER_FULL', `worker ${workerId} is at capacity (${capacity} jobs running)`);
    }
  }

  /** Resolves when the spawner can take another job soon (at once unless it has a backlog). */
  whenSpawnerReady(): Promise<void> {
    return this.options.spawner.whenReady();
  }

  /**
   * Accepts the job (state STARTING) and hands it to the spawner: one pipe write, so the
   * caller's answer does not wait for the fork/exec, which happens in the other process.
   */
  start(spec: JobSpec): void {
    // Checked again: the look-ups between the first check and now were asynchronous.
    this.checkAdmission(spec.jobId);
    const job: ActiveJob = { spec, cancelled: false, ended: false };
    this.active.set(spec.jobId, job);
    this.options.table.add(newStatus(spec.jobId));
    this.spawnJob(job);
  }

  /**
   * SIGTERM to the job's group, SIGKILL after `graceMs`; resolves with the final status
   * once the leader has exited. A second stop of the same job waits for the first.
   */
  async stop(jobId: string, graceMs: number = this.options.defaultGraceMs): Promise<JobStatus> {
    const { table, workerId } = this.options;
    const status = table.get(jobId);
    if (!status) throw new BatonError('JOB_NOT_FOUND', `job ${jobId} not found on worker ${workerId}`);
    if (isFinalState(status.state)) throw new BatonError('WRONG_STATE', `job ${jobId} already ended (${stateName(status.state)})`);
    const job = this.active.get(jobId);
    if (!job) throw new BatonError('INTERNAL', `job ${jobId} is ${stateName(status.state)} but has no process record`);
    if (job.pid === undefined) {
      // The spawner may still start it: the 'spawned' handler kills it then.
      job.cancelled = true;
      this.finish(job, { state: JobState.JOB_STATE_STOPPED, error: 'stopped before it started' });
    } else {
      this.beginStop(job, { graceMs, escalated: false });
    }
    const final = await table.whenFinished(jobId);
    if (!final) throw new BatonError('JOB_NOT_FOUND', `job ${jobId} not found on worker ${workerId}`);
    return final;
  }

  /** SIGTERM to the group, SIGKILL after the grace period; the first stop of a job wins. */
  private beginStop(job: ActiveJob, stop: StopRequest): void {
    if (job.stop || job.ended) return;
    job.stop = stop;
    clearTimeout(job.timeoutTimer);
    this.signalGroup(job, 'SIGTERM');
    job.killTimer = setTimeout(() => {
      stop.escalated = true;
      this.signalGroup(job, 'SIGKILL');
    }, stop.graceMs);
  }

  /** Refuses new jobs from now on (draining); running ones go on. */
  refuseNew(): void {
    this.accepting = false;
  }

  /** Resolves true once no job is active, or false when `timeoutMs` passes first. */
  whenIdle(timeoutMs: number): Promise<boolean> {
    const { table } = this.options;
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      const check = (): void => {
        if (this.active.size > 0) {
          // Any active job's end wakes us; then look again.
          void Promise.race([...this.active.keys()].map((id) => table.whenFinished(id))).then(check);
          return;
        }
        clearTimeout(timer);
        resolve(true);
      };
      check();
    });
  }

  /** Refuses new jobs from now on and stops every active one; resolves when all have ended. */
  async stopAll(): Promise<void> {
    this.accepting = false;
    await Promise.all(
      [...this.active.keys()].map((jobId) => this.stop(jobId).catch((err: unknown) => this.options.log.error({ job_id: jobId, err }, 'could not stop job during shutdown'))),
    );
  }

  /** Last resort on a forced exit: SIGKILL to every job's group, without waiting. */
  killAll(): void {
    this.accepting = false;
    for (const job of this.active.values()) this.signalGroup(job, 'SIGKILL');
  }

  /**
   * Takes back a job the supervisor kept running while this worker was down: same attempt,
   * same output file; stop, timeout and the cap check apply again from now.
   */
  adopt(running: RunningJob): void {
    const job: ActiveJob = { spec: specOf(running.jobId, running.meta), pid: running.pid, cancelled: false, ended: false };
    this.active.set(running.jobId, job);
    this.options.table.add({ ...newStatus(running.jobId), state: JobState.JOB_STATE_RUNNING, pid: running.pid, startedAtMs: running.startedAtMs });
    // Already in the journal, unless the last worker process died before it heard the job start.
    this.options.journal.started(running.jobId, running.pid, running.startTime);
    this.options.spawner.adopt(running.jobId, this.handlersFor(job));
    this.whileRunning(job, running.startedAtMs + job.spec.timeoutMs - Date.now());
  }

  /** Reports a job that ended while no worker was connected, as the supervisor wrote its end down. */
  async reportEnded(record: EndRecord): Promise<void> {
    const job: ActiveJob = { spec: specOf(record.jobId, record.meta), pid: record.pid, cancelled: false, ended: false };
    this.active.set(record.jobId, job);
    this.options.table.add({ ...newStatus(record.jobId), state: JobState.JOB_STATE_RUNNING, pid: record.pid, startedAtMs: record.startedAtMs });
    await this.onLeaderExit(job, record.code, record.signal, record, record.output);
  }

  private spawnJob(job: ActiveJob): void {
    const { spec } = job;
    const { output, spawner } = this.options;
    if (spec.stdin !== undefined && (spawner.protocolVersion ?? PROTOCOL_VERSION) < 2) {
      void this.releaseCgroup(job);
      const error = `the job supervisor on this worker is an earlier release's (protocol ${spawner.protocolVersion}) and cannot give a job its stdin; run the job without stdin, or again once that supervisor's jobs have ended and the worker has restarted`;
      this.finish(job, { state: JobState.JOB_STATE_FAILED, error });
      return;
    }
    if (spec.stdin === undefined) {
      this.handOver(job, undefined);
      return;
    }
    const stdinPath = output.stdinPathFor(spec.jobId);
    // The supervisor opens it for the job and removes it; owner-only, as the input may be a secret.
    writeFile(stdinPath, spec.stdin, { mode: 0o600 }).then(
      () => {
        if (!job.cancelled) return this.handOver(job, stdinPath);
        // Stopped while its stdin was written (and reported so): nothing was started.
        rm(stdinPath, { force: true }).catch((err: unknown) =>
          this.options.log.warn({ job_id: spec.jobId, err }, 'could not delete the stdin file of a job stopped before it started'),
        );
        void this.releaseCgroup(job);
      },
      (err: unknown) => {
        void this.releaseCgroup(job);
        this.finish(job, { state: JobState.JOB_STATE_FAILED, error: `cannot write the job's stdin to ${stdinPath}: ${(err as Error).message}` });
      },
    );
  }

  /** Sends the job to the spawner (a job stopped meanwhile is killed by the 'spawned' handler). */
  private handOver(job: ActiveJob, stdinPath: string | undefined): void {
    const { spec } = job;
    const { output, spawner } = this.options;
    const meta: JobMeta = {
      command: spec.command,
      timeoutMs: spec.timeoutMs,
      ...(spec.memoryLimitBytes === undefined ? {} : { memoryLimitBytes: spec.memoryLimitBytes }),
      ...(spec.cgroup ? { cgroup: spec.cgroup.toRecord() } : {}),
    };
    spawner.spawn(
      {
        jobId: spec.jobId,
        program: spec.program,
        args: spec.args,
        cwd: spec.cwd,
        env: spec.env,
        uid: spec.uid,
        gid: spec.gid,
        outputPath: output.pathFor(spec.jobId),
        output: splitCap(output.capBytes),
        // A supervisor of protocol 3 keeps stdout and stderr apart; an earlier one would ignore the field.
        ...((spawner.protocolVersion ?? PROTOCOL_VERSION) >= 3 && { runsPath: output.runsPathFor(spec.jobId) }),
        ...(stdinPath && { stdinPath }),
        meta,
      },
      this.handlersFor(job),
    );
  }

  private handlersFor(job: ActiveJob): SpawnHandlers {
    const { spec } = job;
    return {
      spawned: (pid, startedAtMs, startTime) => {
        job.pid = pid;
        if (job.cancelled) {
          // Stopped before it started, and already reported so: it must not run.
          this.signalGroup(job, 'SIGKILL');
          return;
        }
        this.options.journal.started(spec.jobId, pid, startTime);
        this.options.table.update(spec.jobId, { state: JobState.JOB_STATE_RUNNING, pid, startedAtMs });
        this.whileRunning(job, spec.timeoutMs);
      },
      failed: ({ stage, code, message }) => {
        const error =
          stage === 'open'
            ? `cannot open output file ${this.options.output.pathFor(spec.jobId)}: ${message}`
            : stage === 'stdin'
              ? `cannot open the job's stdin file: ${message}`
              : describeSpawnError(code, spec.command, message);
        void this.releaseCgroup(job);
        this.finish(job, { state: JobState.JOB_STATE_FAILED, error });
      },
      exited: (code, signal, out) => void this.onLeaderExit(job, code, signal, undefined, out),
      lost: (pid) => void this.onSpawnerLost(job, pid),
    };
  }

  /** Cap checks, and the timeout (`remainingMs` from now) when the job has one. */
  private whileRunning(job: ActiveJob, remainingMs: number): void {
    this.ensureCapChecks();
    const { timeoutMs } = job.spec;
    if (timeoutMs <= 0) return;
    job.timeoutTimer = setTimeout(
      () => {
        this.options.log.info({ job_id: job.spec.jobId, timeout_ms: timeoutMs }, 'job ran past its timeout: stopping it');
        this.beginStop(job, { graceMs: this.options.defaultGraceMs, escalated: false, timeoutMs });
      },
      Math.max(0, remainingMs),
    );
  }

  /** The spawner died without reporting this job's end: kill what we can reach, report it failed. */
  private async onSpawnerLost(job: ActiveJob, pid: number | undefined): Promise<void> {
    job.pid ??= pid;
    clearTimeout(job.killTimer);
    this.signalGroup(job, 'SIGKILL');
    void this.releaseCgroup(job);
    if (job.ended) return;
    const size = await this.options.output.enforceCap(job.spec.jobId).catch(() => undefined);
    this.finish(job, {
      state: JobState.JOB_STATE_FAILED,
      error: job.pid === undefined ? `${SPAWNER_LOST_ERROR} before the job started` : SPAWNER_LOST_ERROR,
      outputBytes: size?.bytes,
      ...(size?.truncated ? { outputTruncated: true } : {}),
    });
  }

  private async onLeaderExit(job: ActiveJob, code: number | null, signal: NodeJS.Signals | null, record?: EndRecord, out?: OutputEnd): Promise<void> {
    clearTimeout(job.killTimer);
    clearTimeout(job.timeoutTimer);
    // The spawner has already sent SIGKILL to whatever the leader left in its group.
    if (job.ended) {
      // Stopped before it started, then started and killed: what it left in its cgroup goes too.
      await this.releaseCgroup(job);
      return;
    }
    // Judged now: a stop arriving while the cap check below runs must not relabel a normal exit.
    let report = describeExit({ code, signal, stop: job.stop });
    // Whatever is left in the job's cgroup (setsid'd processes too) is killed, and the folder removed.
    const oom = await this.releaseCgroup(job);
    if (oom > 0 && job.spec.memoryLimitBytes !== undefined && code !== 0 && report.state !== JobState.JOB_STATE_STOPPED) {
      report = { state: JobState.JOB_STATE_FAILED, error: memoryExceededMessage(job.spec.memoryLimitBytes) };
    }
    if (record?.orphanedAfterMs !== undefined && report.state !== JobState.JOB_STATE_SUCCEEDED) {
      report = { state: JobState.JOB_STATE_STOPPED, error: `stopped by the job supervisor: the worker did not come back within ${formatDuration(record.orphanedAfterMs)}` };
    }
    const size = await this.options.output.enforceCap(job.spec.jobId).catch(() => undefined);
    // Only a cut output is longer than the cap (by its marker line), whatever the copy reported.
    const truncated = size?.truncated === true || (out !== undefined && out.cutBytes > 0) || (size?.bytes ?? 0) > this.options.output.capBytes;
    const endOutput = await readEndOutput(this.options.output, job.spec.jobId, size?.bytes ?? 0);
    this.finish(
      job,
      {
        ...report,
        exitCode: code ?? undefined,
        signal: signal ?? '',
        outputBytes: size?.bytes,
        ...(truncated ? { outputTruncated: true } : {}),
        ...(record ? { finishedAtMs: record.endedAtMs } : {}),
      },
      endOutput,
    );
  }

  /** `endOutput`: a small output, sent in the end report but not kept in the table (see JobTable.update). */
  private finish(job: ActiveJob, patch: Partial<JobStatus> & { state: JobState; error: string }, endOutput?: EndOutput): void {
    if (job.ended) return;
    job.ended = true;
    clearTimeout(job.killTimer);
    clearTimeout(job.timeoutTimer);
    this.active.delete(job.spec.jobId);
    this.options.journal.ended(job.spec.jobId);
    this.options.spawner.endTakenIn(job.spec.jobId);
    if (this.active.size === 0) this.stopCapChecks();
    this.options.table.update(job.spec.jobId, { finishedAtMs: Date.now(), ...patch }, endOutput);
  }

  /** Empties and removes the job's cgroup; resolves with the OOM kills counted in it (0 without one). */
  private async releaseCgroup(job: ActiveJob): Promise<number> {
    const cgroup = job.spec.cgroup;
    if (!cgroup) return 0;
    try {
      return (await cgroup.release()).oomKills;
    } catch (err) {
      this.options.log.warn({ job_id: job.spec.jobId, dirs: cgroup.dirs, err }, 'could not clean up the job cgroup');
      return 0;
    }
  }

  private signalGroup(job: ActiveJob, signal: NodeJS.Signals): void {
    const pid = job.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch (err) {
      // ESRCH: the group is already gone, which is what we wanted.
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') {
        this.options.log.warn({ job_id: job.spec.jobId, pid, signal, err }, 'could not signal the job process group');
      }
    }
  }

  private ensureCapChecks(): void {
    this.capTimer ??= setInterval(() => void this.checkCaps(), CAP_CHECK_INTERVAL_MS);
  }

  private stopCapChecks(): void {
    clearInterval(this.capTimer);
    this.capTimer = undefined;
  }

  private async checkCaps(): Promise<void> {
    if (this.capCheckRunning) return;
    this.capCheckRunning = true;
    const { table, output, log } = this.options;
    try {
      for (const [jobId, job] of this.active) {
        if (job.pid === undefined) continue;
        const size = await output.enforceCap(jobId);
        table.setOutputBytes(jobId, size.bytes);
        if (size.truncated && !table.get(jobId)?.outputTruncated) table.update(jobId, { outputTruncated: true });
      }
    } catch (err) {
      log.warn({ err }, 'output cap check failed; will try again');
    } finally {
      this.capCheckRunning = false;
    }
  }
}

/** A job known from the supervisor's records: what stop, timeout, cgroup clean-up and messages need. */
function specOf(jobId: string, meta: JobMeta): JobSpec {
  return {
    jobId,
    command: meta.command,
    program: '',
    args: [],
    cwd: '',
    env: {},
    timeoutMs: meta.timeoutMs,
    memoryLimitBytes: meta.memoryLimitBytes,
    cgroup: meta.cgroup ? JobCgroup.fromRecord(meta.cgroup) : undefined,
  };
}

/** A job just accepted: STARTING, nothing known of its process yet. */
export function newStatus(jobId: string): JobStatus {
  return {
    jobId,
    state: JobState.JOB_STATE_STARTING,
    exitCode: undefined,
    signal: '',
    error: '',
    startedAtMs: 0,
    finishedAtMs: 0,
    pid: 0,
    // Unknown until the job ends (or a cap check sizes it): an end report that keeps it so has its output copied.
    outputBytes: undefined,
    outputTruncated: false,
  };
}
