/**
 * Bench-only simulated workers: each speaks the real worker gRPC protocol (registers,
 * heartbeats, serves WorkerService and its WatchJobs stream) but "runs" a job by reporting
 * it succeeded at once. With them the benchmarks measure the scheduler alone: placement,
 * the store, the HTTP API and gRPC, without the cost of starting processes.
 *
 * Plaintext on loopback (the scheduler runs with --insecure), so a thousand of them need no
 * certificates. Never used by the product or its tests.
 */
import * as grpc from '@grpc/grpc-js';
import { JobState, type JobStatus } from '../../src/gen/baton/v1/common.js';
import { SchedulerServiceClient } from '../../src/gen/baton/v1/scheduler.js';
import { WorkerServiceService, type WatchJobsResponse, type WorkerServiceServer } from '../../src/gen/baton/v1/worker.js';

export interface SimFleet {
  ids: string[];
  /** StartJob calls answered, over the fleet. */
  started(): number;
  close(): Promise<void>;
}

type Watcher = grpc.ServerWritableStream<unknown, WatchJobsResponse>;

class SimWorker {
  private seq = 0;
  private readonly watchers = new Set<Watcher>();
  private readonly statuses = new Map<string, JobStatus>();
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly server = new grpc.Server();
  started = 0;
  address = '';

  constructor(
    readonly id: string,
    private readonly client: SchedulerServiceClient,
    private readonly capacity: number,
  ) {}

  async listen(): Promise<void> {
    const service: WorkerServiceServer = {
      startJob: (call, callback) => {
        const jobId = call.request.jobId;
        this.started++;
        callback(null, { jobId });
        const now = Date.now();
        setImmediate(() => this.report({ jobId, state: JobState.JOB_STATE_SUCCEEDED, exitCode: 0, signal: '', error: '', startedAtMs: now, finishedAtMs: Date.now(), pid: 1, outputBytes: 0, outputTruncated: false }));
      },
      stopJob: (call, callback) => callback(null, { status: this.statuses.get(call.request.jobId) }),
      queryJob: (call, callback) => {
        const status = this.statuses.get(call.request.jobId);
        if (status) callback(null, { status });
        else callback({ code: grpc.status.NOT_FOUND, details: `job ${call.request.jobId} not found` });
      },
      streamJob: (call) => call.end(),
      watchJobs: (call) => {
        this.watchers.add(call);
        call.on('cancelled', () => this.watchers.delete(call));
        call.on('close', () => this.watchers.delete(call));
      },
    };
    this.server.addService(WorkerServiceService, service);
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    this.address = `127.0.0.1:${port}`;
  }

  register(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.registerWorker({ workerId: this.id, address: this.address, labels: { sim: 'true' }, capacity: this.capacity, jobs: [], version: 'sim' }, (err, res) => {
        if (err) return reject(err);
        const every = Number(res.heartbeatIntervalMs) || 1000;
        this.heartbeat = setInterval(() => this.client.heartbeat({ workerId: this.id, running: 0, draining: false }, () => undefined), every);
        resolve();
      });
    });
  }

  private report(status: JobStatus): void {
    this.statuses.set(status.jobId, status);
    // Keep memory flat over long runs: the scheduler has heard of it once watched.
    if (this.statuses.size > 10_000) this.statuses.delete(this.statuses.keys().next().value!);
    const msg = { seq: ++this.seq, status };
    for (const w of this.watchers) w.write(msg);
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    for (const w of this.watchers) w.end();
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
  }
}

/** Starts `count` simulated workers of the scheduler at `schedulerGrpc`, all registered when this resolves. */
export async function startSimFleet(schedulerGrpc: string, count: number, capacity: number): Promise<SimFleet> {
  // One client for the fleet: a thousand workers need not mean a thousand connections from here.
  const client = new SchedulerServiceClient(schedulerGrpc, grpc.credentials.createInsecure());
  const workers = Array.from({ length: count }, (_, i) => new SimWorker(`sim-${String(i).padStart(4, '0')}`, client, capacity));
  for (let i = 0; i < workers.length; i += 50) {
    const slice = workers.slice(i, i + 50);
    await Promise.all(slice.map((w) => w.listen()));
    await Promise.all(slice.map((w) => w.register()));
  }
  return {
    ids: workers.map((w) => w.id),
    started: () => workers.reduce((n, w) => n + w.started, 0),
    close: async () => {
      await Promise.all(workers.map((w) => w.close()));
      client.close();
    },
  };
}
