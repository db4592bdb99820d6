import * as grpc from '@grpc/grpc-js';
import {
  CHANNEL_OPTIONS,
  SCHEDULER_IDENTITY,
  SERVER_OPTIONS,
  addStandardServices,
  bindServer,
  certifiedWorkerId,
  clientCredentials,
  schedulerOnlyInterceptors,
  serverCredentials,
  type GrpcSecurity,
} from '../common/grpc.js';
import { createLogger, type Logger } from '../common/logger.js';
import { joinHostPort, schedulerAddresses, splitHostPort, unroutableAdvertise } from '../common/net.js';
import { packageVersion } from '../common/package-root.js';
import { SchedulerServiceClient } from '../gen/baton/v1/scheduler.js';
import { WorkerServiceService } from '../gen/baton/v1/worker.js';
import path from 'node:path';
import { CommandLookup } from './command-lookup.js';
import { lockDataDir } from './data-dir-lock.js';
import { JobState } from '../gen/baton/v1/common.js';
import { createWorkerService, type StartsCall } from './grpc-service.js';
import { loadWorkerId } from './identity.js';
import { logJobChanges } from './job-log.js';
import { JobTable } from './job-table.js';
import { JobsFolder } from './jobs-folder.js';
import { RunJournal } from './journal/run-journal.js';
import { OutputFiles } from './output-files.js';
import { REGISTRATION_BACKOFF } from './backoff.js';
import { Registration, type SchedulerEndpoint } from './registration.js';
import { Runner } from './runner.js';
import type { LimitPolicy } from './sandbox/limits.js';
import { Sandbox } from './sandbox/sandbox.js';
import { loadNativeSpawn } from './spawner/native-spawn.js';
import { ENDS_DIR, readEndRecords } from './spawner/end-records.js';
import type { RunningJob } from './spawner/messages.js';
import { SpawnerClient } from './spawner/spawner-client.js';
import { WatchHub } from './watch-hub.js';
import { serveMetrics, WorkerMetrics } from './metrics.js';

/** The channel to the scheduler reconnects as often as registration retries (not every 2 s), so a restarted scheduler is found within ~1 s. */
const SCHEDULER_CHANNEL_OPTIONS: grpc.ChannelOptions = { ...CHANNEL_OPTIONS, 'grpc.max_reconnect_backoff_ms': REGISTRATION_BACKOFF.maxMs };

const WORKER_SERVICE_NAME = 'baton.v1.WorkerService';
const OUTPUT_MAX_AGE_MS = 7 * 24 * 3_600_000;
const DEFAULT_MAX_FINISHED_JOBS = 10_000;
const WATCH_FLUSH_TIMEOUT_MS = 1_000;
const DEREGISTER_TIMEOUT_MS = 2_000;
const SERVER_SHUTDOWN_TIMEOUT_MS = 2_000;

export interface WorkerOptions {
  /** Stable id; default: the name in its certificate (TLS), else the one kept in `<dataDir>/worker-id`, created on first start. */
  id?: string;
  /** host:port to listen on; port 0 picks a free port. */
  listen: string;
  /** host:port the scheduler dials; default: the address actually bound. */
  advertise?: string;
  /** The scheduler's gRPC host:port, or several, comma-separated (schedulers sharing one PostgreSQL store): the worker fails over between them. */
  scheduler: string;
  dataDir: string;
  /** The folder every job's path, cwd and relative command must stay inside; it must exist. */
  jobsDir: string;
  /** Concurrent jobs accepted. */
  capacity: number;
  labels: Record<string, string>;
  /** Default time between SIGTERM and SIGKILL when a job is stopped. */
  stopGraceMs: number;
  /** On close, how long running jobs may go on finishing before they are stopped (0: stop them at once). */
  drainTimeoutMs?: number;
  /** How long jobs keep running after this process dies or leaves them, waiting for a worker on the same data folder; then the supervisor stops them. */
  reattachWindowMs?: number;
  /** Per-job output cap; output beyond it is cut and the job marked output_truncated. */
  outputCapBytes: number;
  /** Finished jobs kept queryable (newest first); older ones and their output are deleted. */
  maxFinishedJobs?: number;
  /** mTLS with the cluster's certificates (only the scheduler's may call WorkerService), or plaintext on loopback. */
  security: GrpcSecurity;
  /** USER[:GROUP] jobs run as; default nobody:nogroup when the worker is root (see `allowRoot`). */
  runAs?: string;
  /** Lets a root worker run jobs as root (without `runAs`, as itself). */
  allowRoot?: boolean;
  /** Variables of the worker's environment that jobs see; default PATH, HOME, LANG, TZ. */
  envAllow?: readonly string[];
  /** When non-empty, the only commands (as written or resolved) a job may run. */
  allowedCommands?: readonly string[];
  /** Per-job resource limits: defaults and maximums. */
  limits?: LimitPolicy;
  /** host:port to serve this worker's Prometheus metrics on (`GET /metrics`, plain HTTP); none when absent. */
  metricsListen?: string;
  logger?: Logger;
}

export interface RunningWorker {
  workerId: string;
  /** The address actually bound. */
  address: string;
  /** Where `GET /metrics` is served, when `metricsListen` was given. */
  metricsAddress?: string;
  /** Graceful shutdown: refuse new jobs, let running ones finish (up to the drain timeout), stop the rest, deregister, stop serving. Idempotent. */
  close(): Promise<void>;
  /** For a forced exit: SIGKILL every job's process group at once. */
  killAllJobs(): void;
  /** For an exit that leaves the jobs running under their supervisor, for the next worker started on this data folder. */
  leaveJobsRunning(): void;
}

/** Default of `reattachWindowMs`: twice the scheduler's default --lost-after, after which it has given the jobs up anyway. */
export const DEFAULT_REATTACH_WINDOW_MS = 60_000;

/** Starts serving WorkerService, then registers with the scheduler in the background. */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  // Registered with 0.0.0.0 it would look up while no job could ever reach it.
  const unroutable = unroutableAdvertise(options.listen, options.advertise);
  if (unroutable) throw new Error(unroutable);
  loadNativeSpawn(); // refuse to start, with what to do, rather than fail every job
  const workerId = await loadWorkerId(options.dataDir, certifiedWorkerId(options.security, options.id));
  const log = (options.logger ?? createLogger('worker')).child({ worker_id: workerId });
  const unlock = lockDataDir(options.dataDir);
  const spawner = new SpawnerClient(log, { workerId, dataDir: options.dataDir, windowMs: options.reattachWindowMs ?? DEFAULT_REATTACH_WINDOW_MS, graceMs: options.stopGraceMs });
  let running: RunningJob[];
  try {
    running = await spawner.connect();
  } catch (err) {
    unlock();
    throw err;
  }
  const runningIds = new Set(running.map((j) => j.jobId));
  // An end recorded for a job the supervisor still lists is heard over the connection instead.
  const ends = readEndRecords(path.join(options.dataDir, ENDS_DIR));
  const ended = ends.records.filter((r) => !runningIds.has(r.jobId));
  const jobsFolder = await JobsFolder.open(options.jobsDir);
  const sandbox = await Sandbox.create(
    {
      workerId,
      runAs: options.runAs,
      allowRoot: options.allowRoot,
      envAllow: options.envAllow,
      allowedCommands: options.allowedCommands,
      limits: options.limits,
      jobsRoot: jobsFolder.root,
      dataDir: options.dataDir,
      runningJobs: runningIds,
    },
    log,
  );
  const output = new OutputFiles(options.dataDir, options.outputCapBytes);
  await output.init();
  const removed = await output.removeOlderThan(OUTPUT_MAX_AGE_MS);
  if (removed > 0) log.info({ removed, dir: output.dir }, 'deleted job output files older than 7 days');

  const table = new JobTable(options.maxFinishedJobs ?? DEFAULT_MAX_FINISHED_JOBS, (jobId) => {
    output.remove(jobId).catch((err: unknown) => log.warn({ job_id: jobId, err }, 'could not delete the output file of a forgotten job'));
  });
  logJobChanges(table, log);
  const journal = new RunJournal(options.dataDir, log);
  const unreadable = ends.unreadable.filter((u) => !runningIds.has(u.jobId));
  reportLeftovers(journal.recover({ running: runningIds, ended: new Set([...ended, ...unreadable].map((e) => e.jobId)) }), spawner.startedSupervisor, table, log);
  const runner = new Runner({ workerId, capacity: options.capacity, defaultGraceMs: options.stopGraceMs, table, output, spawner, journal, log });
  for (const job of running) runner.adopt(job);
  for (const record of ended) await runner.reportEnded(record);
  for (const u of unreadable) {
    const error = `lost: its end record ${u.file} could not be read (${u.reason}); moved aside to ${u.file}.corrupt`;
    log.error({ job_id: u.jobId, file: u.file }, error);
    table.add({
      jobId: u.jobId,
      state: JobState.JOB_STATE_LOST,
      exitCode: undefined,
      signal: '',
      error,
      startedAtMs: 0,
      finishedAtMs: Date.now(),
      pid: 0,
      outputBytes: undefined,
      outputTruncated: false,
    });
  }
  if (running.length + ended.length > 0) log.info({ running: running.length, ended: ended.length }, 'took back the jobs the last worker process left to its supervisor');
  const watchers = new WatchHub(table);
  const startStreams = new Set<StartsCall>();

  const server = new grpc.Server({ ...SERVER_OPTIONS, interceptors: schedulerOnlyInterceptors(options.security, WORKER_SERVICE_NAME) });
  server.addService(
    WorkerServiceService,
    createWorkerService({ workerId, table, runner, sandbox, jobsFolder, commands: new CommandLookup(jobsFolder), output, watchers, startStreams, log }),
  );
  const health = addStandardServices(server, [WORKER_SERVICE_NAME]);
  const port = await bindServer(server, options.listen, serverCredentials(options.listen, options.security));
  const address = joinHostPort(splitHostPort(options.listen).host, port);
  const advertise = options.advertise ?? address;
  // Registration exists only below; the gauge reads it at scrape time.
  let registration: Registration | undefined;
  const metrics = new WorkerMetrics(workerId, { activeJobs: () => runner.activeCount, registered: () => registration?.registered === true });
  metrics.watch(table);
  let metricsServer: Awaited<ReturnType<typeof serveMetrics>> | undefined;
  if (options.metricsListen !== undefined) {
    try {
      metricsServer = await serveMetrics(metrics.registry, options.metricsListen);
    } catch (err) {
      server.forceShutdown();
      throw new Error(`cannot serve metrics on ${options.metricsListen}: ${(err as Error).message}`);
    }
  }
  const runAs = sandbox.runAs ? `${sandbox.runAs.user}:${sandbox.runAs.group}` : 'the worker user';
  log.info({ address, advertise, jobs_dir: jobsFolder.root, capacity: options.capacity, run_as: runAs, metrics: metricsServer?.address }, 'worker ready');

  let schedulers: SchedulerEndpoint[];
  try {
    schedulers = schedulerAddresses(options.scheduler).map((address) => ({
      address,
      client: new SchedulerServiceClient(address, clientCredentials(address, options.security, SCHEDULER_IDENTITY), SCHEDULER_CHANNEL_OPTIONS),
    }));
  } catch (err) {
    server.forceShutdown();
    await metricsServer?.close();
    throw err;
  }
  registration = new Registration({
    schedulers,
    workerId,
    address: advertise,
    labels: options.labels,
    capacity: options.capacity,
    version: packageVersion(),
    knownJobs: () => table.all(),
    activeJobCount: () => runner.activeCount,
    onHeartbeat: (ok) => metrics.heartbeat(ok),
    log,
  });
  registration.start();
  const registered = registration;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      const drainMs = options.drainTimeoutMs ?? 0;
      log.info({ running: runner.activeCount, drain_timeout_ms: drainMs }, 'worker draining: refusing new jobs, letting running ones finish, then stopping what is left');
      runner.refuseNew();
      // Tell the scheduler now, so it places nothing more here while the jobs finish.
      await registered.announceDraining();
      if (drainMs > 0 && runner.activeCount > 0) {
        const idle = await runner.whenIdle(drainMs);
        if (!idle) log.warn({ running: runner.activeCount, drain_timeout_ms: drainMs }, 'drain timeout passed: stopping the jobs still running');
      }
      health.setStatus('', 'NOT_SERVING');
      health.setStatus(WORKER_SERVICE_NAME, 'NOT_SERVING');
      await runner.stopAll();
      // Every job has ended; the spawner would SIGKILL any group still running as it exits.
      await spawner.close();
      await sandbox.close();
      // The scheduler learns the final statuses over WatchJobs; give them a moment to leave.
      await watchers.closeAll(WATCH_FLUSH_TIMEOUT_MS);
      for (const call of startStreams) call.end();
      await registered.stop();
      await registered.deregister(DEREGISTER_TIMEOUT_MS);
      await shutdownServer(server, SERVER_SHUTDOWN_TIMEOUT_MS);
      await metricsServer?.close();
      for (const s of schedulers) s.client.close();
      unlock();
      log.info('worker stopped');
    })());

  const leaveJobsRunning = (): void => {
    log.info(
      { running: runner.activeCount, supervisor_pid: spawner.supervisorPid },
      'worker exiting with its jobs left running; a worker started on this data folder takes them back',
    );
    spawner.detach();
    unlock();
  };

  return { workerId, address, metricsAddress: metricsServer?.address, close, killAllJobs: () => runner.killAll(), leaveJobsRunning };
}

/**
 * Jobs the last run of this worker started and never saw end, which its supervisor does not
 * account for (it was killed too, or it is still there but could not write the job's end
 * down): their process groups still alive were killed, and each job is reported lost at
 * registration, so the scheduler can retry it.
 */
function reportLeftovers({ unfinished, killed }: ReturnType<RunJournal['recover']>, supervisorDied: boolean, table: JobTable, log: Logger): void {
  const killedIds = new Set(killed.map((k) => k.jobId));
  const now = Date.now();
  for (const jobId of unfinished) {
    const error = killedIds.has(jobId)
      ? "lost: the worker and the job's supervisor died while the job ran; its processes were still running and were killed when the worker restarted"
      : supervisorDied
        ? "lost: the worker and the job's supervisor died while the job ran; its end was not seen"
        : 'lost: the job ended while no worker was connected and its supervisor could not record its end (see supervisor.log in the data folder: a full disk?)';
    log.warn({ job_id: jobId, pgid: killed.find((k) => k.jobId === jobId)?.pgid }, error);
    table.add({
      jobId,
      state: JobState.JOB_STATE_LOST,
      exitCode: undefined,
      signal: '',
      error,
      startedAtMs: 0,
      finishedAtMs: now,
      pid: 0,
      outputBytes: undefined,
      outputTruncated: false,
    });
  }
}

/** Lets calls in progress finish, then cuts whatever is left after `timeoutMs`. */
function shutdownServer(server: grpc.Server, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, timeoutMs);
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}
