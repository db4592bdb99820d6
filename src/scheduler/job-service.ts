import { PassThrough, type Readable } from 'node:stream';
import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { BatonError, fromWorkerCallError } from '../common/errors.js';
import { uuidv7 } from '../common/ids.js';
import type { Logger } from '../common/logger.js';
import type { JobStatus } from '../gen/baton/v1/common.js';
import type { StreamJobResponse } from '../gen/baton/v1/worker.js';
import { isFinal } from './job-state.js';
import { updateFromWorker, type JobStatusApplier } from './job-status.js';
import type { Registry } from './registry.js';
import type { AttemptRecord, JobFilter, JobRecord, NewJob, Store } from './store/store.js';
import type { WorkerChannel } from './worker-channel.js';

/** StartJob only validates and answers; a few seconds is plenty and bounds a hung worker. */
const START_TIMEOUT_MS = 5_000;
const QUERY_TIMEOUT_MS = 5_000;
/** When the caller names no grace period the worker uses its own; assume up to this for the deadline. */
const ASSUMED_DEFAULT_GRACE_MS = 10_000;
const STOP_DEADLINE_SLACK_MS = 5_000;
/** How long a stream may stay silent before its HTTP headers are committed (after that, a worker error can only cut the body short). */
const STREAM_COMMIT_MS = 250;

export interface JobSpec {
  workerId: string;
  command: string;
  path: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** Token name of the caller ("anonymous" without tokens). */
  submittedBy: string;
}

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
    private readonly log: Logger,
  ) {}

  /** Records the job (queued) before asking the worker, so an accepted job is never lost. */
  async start(spec: JobSpec): Promise<JobRecord> {
    const channel = this.liveChannel(spec.workerId);
    const now = Date.now();
    const job: NewJob = { id: uuidv7(now), ...spec, createdAt: now };
    await this.store.createJob(job);
    try {
      await channel.startJob({ jobId: job.id, command: spec.command, path: spec.path, args: spec.args, env: spec.env, cwd: spec.cwd }, START_TIMEOUT_MS);
    } catch (err) {
      const mapped = fromWorkerCallError(err, channel.who);
      await this.applier.apply(job.id, spec.workerId, { state: 'failed', error: mapped.message }).catch((e: unknown) => this.logStoreError(job.id, e));
      throw mapped;
    }
    // Not awaited: the caller needs only the id, and the watch stream's reports are ordered after it by the state check anyway.
    this.applier.apply(job.id, spec.workerId, { state: 'dispatched' }).catch((e: unknown) => this.logStoreError(job.id, e));
    return { ...job, state: 'dispatched', error: '', exitCode: null, signal: '', outputTruncated: false, updatedAt: now, finishedAt: null, stoppedBy: '' };
  }

  /** `by` (the caller's token name) is recorded as `stopped_by` once the worker has taken the stop. */
  async stop(jobId: string, workerId: string | undefined, graceMs: number, by: string): Promise<JobDetail> {
    const { job } = await this.find(jobId, workerId);
    if (isFinal(job.state)) throw new BatonError('CONFLICT', `job ${jobId} already ended (${job.state})`);
    const channel = this.channelOf(job.workerId);
    const deadline = (graceMs || ASSUMED_DEFAULT_GRACE_MS) + STOP_DEADLINE_SLACK_MS;
    const res = await channel.stopJob(jobId, graceMs, deadline).catch((err: unknown) => {
      throw fromWorkerCallError(err, channel.who);
    });
    await this.store.setStoppedBy(jobId, by);
    await this.applyReported(job.workerId, res.status);
    return this.find(jobId, workerId);
  }

  /** Fresh from the worker while the job is live; a finished job's record is final and needs no call. */
  async query(jobId: string, workerId: string | undefined): Promise<JobDetail> {
    const found = await this.find(jobId, workerId);
    if (isFinal(found.job.state)) return found;
    const channel = this.channelOf(found.job.workerId);
    const res = await channel.queryJob(jobId, QUERY_TIMEOUT_MS).catch((err: unknown) => {
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
    const channel = this.channelOf(job.workerId);
    const call = channel.streamJob(jobId, follow);
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
    return this.applier.apply(status.jobId, workerId, update);
  }

  /** For new work: the worker must be registered and up. */
  private liveChannel(workerId: string): WorkerChannel {
    const w = this.registry.get(workerId);
    if (!w) throw new BatonError('NOT_FOUND', `worker "${workerId}" not found`);
    if (w.state !== 'up' || !w.channel) {
      const ago = Math.round((Date.now() - w.lastHeartbeatAt) / 1000);
      throw new BatonError('WORKER_UNAVAILABLE', `worker ${workerId} is ${w.state === 'deregistered' ? 'deregistered' : 'down'} (last heartbeat ${ago}s ago)`);
    }
    return w.channel;
  }

  /** For existing jobs: a worker marked down may still answer, so only a missing channel refuses. */
  private channelOf(workerId: string): WorkerChannel {
    const w = this.registry.get(workerId);
    if (w?.channel) return w.channel;
    const ago = w ? ` (last heartbeat ${Math.round((Date.now() - w.lastHeartbeatAt) / 1000)}s ago)` : '';
    throw new BatonError('WORKER_UNAVAILABLE', `worker ${workerId} is not connected${ago}`);
  }

  private logStoreError(jobId: string, err: unknown): void {
    this.log.error({ job_id: jobId, err }, 'cannot record job state');
  }
}
