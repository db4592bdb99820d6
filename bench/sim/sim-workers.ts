/**
 * Bench only: `node dist/bench/sim/sim-workers.js <scheduler grpc> <count> <prefix> [stream|unary]` runs
 * `count` simulated workers in this process. Each speaks the real protocol over plaintext
 * gRPC on loopback (the scheduler runs with --insecure): it listens with the WorkerService,
 * registers, heartbeats at the interval the scheduler asks for (on the Heartbeats stream, or
 * with unary calls when asked), and finishes every job at
 * once (RUNNING then SUCCEEDED on its WatchJobs stream, as a real worker reports them).
 * So the scheduler alone is measured. Prints `{"ready":true}` once all are registered.
 */
import * as grpc from '@grpc/grpc-js';
import { JobState, type JobStatus } from '../../src/gen/baton/v1/common.js';
import { SchedulerServiceClient } from '../../src/gen/baton/v1/scheduler.js';
import {
  WorkerServiceService,
  type StartJobRequest,
  type StartJobResult,
  type StartsRequest,
  type WatchJobsResponse,
  type WorkerServiceServer,
} from '../../src/gen/baton/v1/worker.js';
import { bindServer } from '../../src/common/grpc.js';

const [schedulerAddress = '', countArg = '1', prefix = 'sim', heartbeatMode = 'stream'] = process.argv.slice(2);
const CAPACITY = 100_000;

type Watch = grpc.ServerWritableStream<unknown, WatchJobsResponse>;

function status(jobId: string, state: JobState, now: number): JobStatus {
  const final = state === JobState.JOB_STATE_SUCCEEDED;
  return { jobId, state, exitCode: final ? 0 : undefined, signal: '', error: '', startedAtMs: now, finishedAtMs: final ? now : 0, pid: 1, outputBytes: 0, outputTruncated: false };
}

/** Beats on one Heartbeats stream, as a real worker does. */
function streamBeat(client: SchedulerServiceClient, id: string): () => void {
  const heartbeats = client.heartbeats();
  heartbeats.on('data', () => undefined);
  heartbeats.on('error', (err) => {
    process.stderr.write(`simulated worker ${id}: heartbeat stream failed: ${err.message}\n`);
    process.exit(1);
  });
  return () => heartbeats.write({ workerId: id, running: 0, draining: false });
}

/** A unary Heartbeat call per beat (the bench's baseline for the stream). */
function unaryBeat(client: SchedulerServiceClient, id: string): () => void {
  return () => client.heartbeat({ workerId: id, running: 0, draining: false }, () => undefined);
}

async function simWorker(id: string): Promise<void> {
  const watches = new Set<Watch>();
  let seq = 0;
  const report = (s: JobStatus): void => {
    seq++;
    for (const w of watches) if (!w.cancelled && w.writable) w.write({ seq, status: s });
  };
  const run = (jobId: string): void => {
    const now = Date.now();
    report(status(jobId, JobState.JOB_STATE_RUNNING, now));
    report(status(jobId, JobState.JOB_STATE_SUCCEEDED, now));
  };
  const accept = (jobs: readonly StartJobRequest[]): StartJobResult[] => {
    for (const { jobId } of jobs) run(jobId);
    return jobs.map(({ jobId }) => ({ jobId, code: grpc.status.OK, message: '', errorCode: '' }));
  };
  const notHere = (cb: grpc.sendUnaryData<never>): void => cb({ code: grpc.status.NOT_FOUND, details: 'a simulated worker keeps no jobs' } as grpc.ServiceError, null);
  const service: WorkerServiceServer = {
    startJob: (call, cb) => {
      const { jobId } = call.request;
      cb(null, { jobId });
      run(jobId);
    },
    starts: (call) => {
      call.on('data', ({ seq, jobs }: StartsRequest) => call.write({ seq, results: accept(jobs) }));
      call.on('end', () => call.end());
    },
    stopJob: (_call, cb) => notHere(cb),
    queryJob: (_call, cb) => notHere(cb),
    streamJob: (call) => call.emit('error', { code: grpc.status.NOT_FOUND, details: 'a simulated worker keeps no output' }),
    watchJobs: (call) => {
      const w = call as Watch;
      watches.add(w);
      const drop = (): void => void watches.delete(w);
      call.once('cancelled', drop);
      call.once('close', drop);
    },
  };
  const server = new grpc.Server();
  server.addService(WorkerServiceService, service);
  const port = await bindServer(server, '127.0.0.1:0', grpc.ServerCredentials.createInsecure());
  // A connection of its own to the scheduler, as a real worker has.
  const client = new SchedulerServiceClient(schedulerAddress, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  const register = (): Promise<number> =>
    new Promise((resolve, reject) =>
      client.registerWorker({ workerId: id, address: `127.0.0.1:${port}`, labels: { sim: 'true' }, capacity: CAPACITY, jobs: [], version: 'sim' }, (err, res) =>
        err ? reject(err) : resolve(Number(res.heartbeatIntervalMs) || 1000),
      ),
    );
  const interval = await register();
  // Spread over the interval, as independently started workers would be.
  setTimeout(() => setInterval(heartbeatMode === 'unary' ? unaryBeat(client, id) : streamBeat(client, id), interval), Math.random() * interval);
}

const count = Number(countArg);
for (let i = 0; i < count; i += 50) {
  await Promise.all(Array.from({ length: Math.min(50, count - i) }, (_, k) => simWorker(`${prefix}-${i + k}`)));
}
process.stdout.write(`${JSON.stringify({ ready: true, workers: count })}\n`);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
