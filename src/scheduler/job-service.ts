import { PassThrough, type Readable } from 'node:stream';
import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { BatonError, fromWorkerCallError } from '../common/errors.js';
import { uuidv7 } from '../common/ids.js';
import type { Logger } from '../common/logger.js';
import type { JobStatus } from '../gen/baton/v1/common.js';
import type { StreamJobResponse } from '../gen/baton/v1/worker.js';
import type { Dispatcher } from './dispatcher.js';
import { isFinal } from './job-state.js';
import { parseRunId, runId, updateFromWorker, type JobStatusApplier } from './job-status.js';
import type { Registry } from './registry.js';
import { DEFAULT_RETRY, type RetryPolicy } from './retry-policy.js';
import type { AttemptRecord, JobFilter, JobRecord, NewJob, SandboxRequest, Store } from './store/store.js';
import type { WorkerChannel } from './worker-channel.js';

const QUERY_TIMEOUT_MS = 5_000;
/** When the caller names no grace period the worker uses its own; assume up to this for the deadline. */
const ASSUMED_DEFAULT_GRACE_MS = 10_000;
const STOP_DEADLINE_SLACK_MS = 5_000;
/** How long a stream may stay silent before its HTTP headers are committed (after that, a worker error can only cut the body short). */
const STREAM_COMMIT_MS = 250;
/** What a caller refused for a full queue is told to wait. */
const QUEUE_FULL_RETRY_AFTER_S = 5;

export interface JobSpec {
  /** Pins the job to this worker; absent: placement chooses. */
  workerId?: string;
  command: string;
  path: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** Token name of the caller ("anonymous" without tokens). */
  submittedBy: string;
  /** Labels a worker must carry (every one). */
  labels?: Record<string, string>;
  /** Higher first; default 0. */
  priority?: number;
  retry?: RetryPolicy;
  /** Sandbox requests, passed to the worker as they are (it checks them against its limits). */
  sandbox?: JobSandboxRequest;
}

export type JobSandboxRequest = SandboxRequest;

export interface JobDetail {
  job: JobRecord;
  attempts: AttemptRecord[];
}

/** Job operations behind the HTTP API: the store first, then the worker, errors mapped for the caller. */
export class JobService {
  constructor(
    private readonly store: Store,
    private readonly registry: Registry,
    private readonly applier: JobStatusApplier,
    private readonly dispatcher: Dispatcher,
    private readonly maxQueued: number,
    private readonly log: Logger,
  ) {}

  /**
   * Records the job (queued) before any worker hears of it, so an accepted job is never lost,
   * then hands it to the dispatcher. Answers once it is started, or waits in the queue (with
   * the reason), or failed to start (that error is thrown, as the worker gave it).
   */
  async start(spec: JobSpec): Promise<JobRecord> {
    if (spec.workerId !== undefined && !this.registry.get(spec.workerId)) throw new BatonError('NOT_FOUND', `worker "${spec.workerId}" not found`);
    if (this.dispatcher.queuedCount >= this.maxQueued) {
      throw new BatonError('QUEUE_FULL', `the queue is full (${this.maxQueued} jobs waiting); try again later`, QUEUE_FULL_RETRY_AFTER_S);
    }
    const now = Date.now();
    const job: NewJob = {
      id: uuidv7(now),
      command: spec.command,
      path: spec.path,
      args: spec.args,
      env: spec.env,
      cwd: spec.cwd,
      createdAt: now,
      submittedBy: spec.submittedBy,
      labels: spec.labels ?? {},
      priority: spec.priority ?? 0,
      retry: spec.retry ?? DEFAULT_RETRY,
      pinnedWorker: spec.workerId ?? '',
      sandbox: spec.sandbox ?? {},
    };
    await this.store.createJob(job);
    const queued: JobRecord = {
      ...job,
      state: 'queued',
      workerId: '',
      attempt: 1,
      reason: '',
      nextAttemptAt: null,
      error: '',
      exitCode: null,
      signal: '',
      outputTruncated: false,
      updatedAt: now,
      finishedAt: null,
      stoppedBy: '',
    };
    const result = await this.dispatcher.submit(queued);
    if (result.kind === 'failed') throw result.error;
    return result.job;
  }

  /** `by` (the caller's token name) is recorded as `stopped_by` once the worker has taken the stop. */
  async stop(jobId: string, workerId: string | undefined, graceMs: number, by: string): Promise<JobDetail> {
    const { job } = await this.find(jobId, workerId);
    if (isFinal(job.state)) throw new BatonError('CONFLICT', `job ${jobId} already ended (${job.state})`);
    if (job.state === 'queued') {
      // On no worker: the store's check is enough (a dispatch that got there first makes this a no-op, and the stop goes to the worker below).
      if (await this.applier.apply(jobId, job.attempt, '', { state: 'stopped', error: 'stopped before it started' })) {
        await this.store.setStoppedBy(jobId, by);
        return this.find(jobId, workerId);
      }
      return this.stopOnWorker((await this.find(jobId, workerId)).job, workerId, graceMs, by);
    }
    return this.stopOnWorker(job, workerId, graceMs, by);
  }

  private async stopOnWorker(job: JobRecord, workerId: string | undefined, graceMs: number, by: string): Promise<JobDetail> {
    const jobId = job.id;
    if (isFinal(job.state)) throw new BatonError('CONFLICT', `job ${jobId} already ended (${job.state})`);
    const channel = this.channelOf(job.workerId);
    const deadline = (graceMs || ASSUMED_DEFAULT_GRACE_MS) + STOP_DEADLINE_SLACK_MS;
    const res = await channel.stopJob(runId(jobId, job.attempt), graceMs, deadline).catch((err: unknown) => {
      throw fromWorkerCallError(err, channel.who);
    });
    await this.store.setStoppedBy(jobId, by);
    await this.applyReported(job.workerId, res.status);
    return this.find(jobId, workerId);
  }

  /** Fresh from the worker while the job is live; a finished job's record is final and needs no call. */
  async query(jobId: string, workerId: string | undefined): Promise<JobDetail> {
    const found = await this.find(jobId, workerId);
    if (isFinal(found.job.state) || found.job.state === 'queued') return found;
    const channel = this.channelOf(found.job.workerId);
    const res = await channel.queryJob(runId(jobId, found.job.attempt), QUERY_TIMEOUT_MS).catch((err: unknown) => {
      throw fromWorkerCallError(err, channel.who);
    });
    if (!(await this.applyReported(found.job.workerId, res.status))) return found;
    return this.find(jobId, workerId);
  }

  /** `workerId`, when given, must be the job's worker: the original API names both. */
  async find(jobId: string, workerId?: string): Promise<JobDetail> {
    const found = await this.store.getJob(jobId);
    if (!found) throw new BatonError('NOT_FOUND', `job "${jobId}" not found`);
    if (workerId !== undefined && found.job.workerId !== workerId) throw new BatonError('NOT_FOUND', `job "${jobId}" not found on worker "${workerId}"`);
    return found;
  }

  list(filter: JobFilter): Promise<{ jobs: JobRecord[]; nextCursor: string | null }> {
    return this.store.listJobs(filter);
  }

  /**
   * The job's output from its first byte (following it live when `follow`). Resolves once
   * the worker has sent something, ended, or stayed quiet for a moment, so a worker's refusal
   * still becomes a proper HTTP error. Destroying the returned stream cancels the gRPC call.
   */
  async output(jobId: string, workerId: string | undefined, follow: boolean): Promise<Readable> {
    const { job } = await this.find(jobId, workerId);
    if (job.workerId === '') throw new BatonError('CONFLICT', `job ${jobId} is queued and has no output yet${job.reason ? ` (${job.reason})` : ''}`);
    const channel = this.channelOf(job.workerId);
    const call = channel.streamJob(runId(jobId, job.attempt), follow);
    const out = new PassThrough();
    out.on('close', () => call.cancel());
    return new Promise((resolve, reject) => {
      let committed = false;
      const commit = (): void => {
        if (committed) return;
        committed = true;
        clearTimeout(timer);
        resolve(out);
      };
      const timer = setTimeout(commit, STREAM_COMMIT_MS);
      call.on('data', (msg: StreamJobResponse) => {
        if (!out.write(msg.data)) {
          call.pause();
          out.once('drain', () => call.resume());
        }
        commit();
      });
      call.on('end', () => {
        out.end();
        commit();
      });
      call.on('error', (err: ServiceError) => {
        if (err.code === GrpcStatus.CANCELLED && out.destroyed) return; // the reader left
        if (!committed) {
          committed = true;
          clearTimeout(timer);
          out.destroy();
          reject(fromWorkerCallError(err, channel.who));
          return;
        }
        this.log.warn({ job_id: jobId, worker_id: job.workerId, error: err.details }, 'output stream broke off');
        // Mapped, so a break before the HTTP headers went out still answers 502/503/504, not 500.
        out.destroy(fromWorkerCallError(err, channel.who));
      });
    });
  }

  private async applyReported(workerId: string, status: JobStatus | undefined): Promise<boolean> {
    const update = status && updateFromWorker(status);
    if (!update) return false;
    const { jobId, attempt } = parseRunId(status.jobId);
    return this.applier.apply(jobId, attempt, workerId, update);
  }

  /** For existing jobs: a worker marked down may still answer, so only a missing channel refuses. */
  private channelOf(workerId: string): WorkerChannel {
    const w = this.registry.get(workerId);
    if (w?.channel) return w.channel;
    const ago = w ? ` (last heartbeat ${Math.round((Date.now() - w.lastHeartbeatAt) / 1000)}s ago)` : '';
    throw new BatonError('WORKER_UNAVAILABLE', `worker ${workerId} is not connected${ago}`);
  }
}
