import { status as GrpcStatus, type sendUnaryData, type ServerDuplexStream, type ServerWritableStream } from '@grpc/grpc-js';
import type { Logger } from '../common/logger.js';
import { BatonError, echo, toGrpcError } from '../common/errors.js';
import type { JobStatus } from '../gen/baton/v1/common.js';
import {
  OutputStream,
  type StartJobRequest,
  type StartJobResponse,
  type StartJobResult,
  type StartsRequest,
  type StartsResponse,
  type WorkerServiceServer,
} from '../gen/baton/v1/worker.js';
import type { CommandLookup } from './command-lookup.js';
import { isFinalState } from './exit-status.js';
import type { JobsFolder } from './jobs-folder.js';
import type { JobTable } from './job-table.js';
import type { OutputFiles } from './output-files.js';
import { type OutputSource, type OutputStreams, streamOutput } from './output-stream.js';
import { OneStream, requireRuns } from './output-stream-split.js';
import type { Runner } from './runner.js';
import type { Sandbox } from './sandbox/sandbox.js';
import { FALLBACK_PATH, jobEnvironment, startRequestProblem } from './start-request.js';
import type { WatchHub } from './watch-hub.js';

export interface WorkerServiceParts {
  workerId: string;
  table: JobTable;
  runner: Runner;
  sandbox: Sandbox;
  jobsFolder: JobsFolder;
  commands: CommandLookup;
  output: OutputFiles;
  watchers: WatchHub;
  /** The open StreamJob calls (counted for the metrics). */
  outputStreams: OutputStreams;
  /** The open Starts streams, ended when the worker shuts down. */
  startStreams: Set<StartsCall>;
  log: Logger;
}

export type StartsCall = ServerDuplexStream<StartsRequest, StartsResponse>;

/** The WorkerService handlers. Every handler answers with a gRPC status, whatever it is sent. */
export function createWorkerService(parts: WorkerServiceParts): WorkerServiceServer {
  const { table, runner, output, watchers, log } = parts;

  // A job asked for by id (its output read, its status queried) is reported as it is now, not held.
  const requireJob = (jobId: string): JobStatus => {
    const status = table.get(jobId);
    if (!status) throw new BatonError('JOB_NOT_FOUND', `job ${echo(jobId)} not found on worker ${parts.workerId}`);
    watchers.release(jobId);
    return status;
  };

  const answer = <Res>(callback: sendUnaryData<Res>, work: () => Promise<Res>, method: string): void => {
    work().then(
      (response) => callback(null, response),
      (err: unknown) => {
        if (!(err instanceof BatonError)) log.error({ err, method }, 'unexpected error in a gRPC handler');
        callback(toGrpcError(err));
      },
    );
  };

  const failStream = (call: ServerWritableStream<unknown, unknown>, err: unknown, method: string): void => {
    if (!(err instanceof BatonError)) log.error({ err, method }, 'unexpected error in a gRPC stream');
    // grpc-js turns an 'error' event on a server stream into the call's status.
    if (!call.cancelled) call.emit('error', toGrpcError(err));
  };

  const start = async (request: StartJobRequest): Promise<StartJobResponse> => {
    try {
      return await acceptStart(parts, request);
    } catch (err) {
      if (err instanceof BatonError) log.info({ job_id: request.jobId, command: request.command, path: request.path, reason: err.message }, 'job refused');
      throw err;
    }
  };

  const startJob: WorkerServiceServer['startJob'] = (call, callback) => answer(callback, () => start(call.request), 'StartJob');

  // Each job as its own StartJob would go (together, as concurrent calls would), each answer apart.
  const startAll = async (requests: readonly StartJobRequest[]): Promise<StartJobResult[]> => {
    const settled = await Promise.allSettled(requests.map(start));
    return settled.map((outcome, i): StartJobResult => {
      const jobId = requests[i]!.jobId;
      if (outcome.status === 'fulfilled') return { jobId, code: GrpcStatus.OK, message: '', errorCode: '' };
      if (!(outcome.reason instanceof BatonError)) log.error({ err: outcome.reason, job_id: jobId }, 'unexpected error starting a job');
      const { code = GrpcStatus.INTERNAL, details = '' } = toGrpcError(outcome.reason);
      return { jobId, code, message: details, errorCode: outcome.reason instanceof BatonError ? outcome.reason.code : '' };
    });
  };

  // Each message answered by one with its seq, as soon as its starts are decided.
  const starts: WorkerServiceServer['starts'] = (call) => {
    parts.startStreams.add(call);
    const drop = (): void => void parts.startStreams.delete(call);
    call.once('cancelled', drop);
    call.once('close', drop);
    call.on('error', drop);
    call.on('data', (request: StartsRequest) => {
      void startAll(request.jobs).then((results) => {
        if (!call.cancelled && call.writable) call.write({ seq: request.seq, results });
      });
    });
    // The scheduler closed its side: close ours.
    call.on('end', () => call.end());
  };

  const stopJob: WorkerServiceServer['stopJob'] = (call, callback) =>
    answer(
      callback,
      async () => {
        const graceMs = call.request.graceMs > 0 ? call.request.graceMs : undefined;
        return { status: await runner.stop(call.request.jobId, graceMs) };
      },
      'StopJob',
    );

  const queryJob: WorkerServiceServer['queryJob'] = (call, callback) =>
    answer(
      callback,
      async () => {
        const status = requireJob(call.request.jobId);
        if (isFinalState(status.state)) return { status };
        // Output of a running job grows between cap checks; report its size now.
        return { status: { ...status, outputBytes: await output.currentSize(status.jobId) } };
      },
      'QueryJob',
    );

  const streamJob: WorkerServiceServer['streamJob'] = (call) => {
    const { jobId, offset, follow, stream } = call.request;
    const run = async (): Promise<void> => {
      requireJob(jobId);
      const unfollow = watchers.follow(jobId);
      try {
        await streamJobOutput();
      } finally {
        unfollow();
      }
    };
    const streamJobOutput = async (): Promise<void> => {
      const source: OutputSource = {
        file: output.pathFor(jobId),
        limit: (finished) => output.readableLimit(finished),
        isFinished: () => {
          const status = table.get(jobId);
          return status === undefined || isFinalState(status.state);
        },
        waitForChange: (ms, signal) => table.waitForChange(jobId, ms, signal),
      };
      const runsFile = output.runsPathFor(jobId);
      if (stream === OutputStream.OUTPUT_STREAM_STDOUT || stream === OutputStream.OUTPUT_STREAM_STDERR) {
        const name = stream === OutputStream.OUTPUT_STREAM_STDOUT ? 'stdout' : 'stderr';
        await streamOutput(call, source, offset, follow, new OneStream(jobId, source.file, runsFile, name));
      } else if (stream === OutputStream.OUTPUT_STREAM_RUNS) {
        // Final once the job ended (the copy writes the tail's runs last): read then, whole.
        requireRuns(jobId, source, runsFile);
        await streamOutput(call, { ...source, file: runsFile, limit: () => Number.MAX_SAFE_INTEGER }, offset, follow);
      } else {
        await streamOutput(call, source, offset, follow);
      }
    };
    parts.outputStreams.track(run).catch((err: unknown) => failStream(call, err, 'StreamJob'));
  };

  const watchJobs: WorkerServiceServer['watchJobs'] = (call) => {
    try {
      watchers.attach(call);
    } catch (err) {
      failStream(call, err, 'WatchJobs');
    }
  };

  return { startJob, starts, stopJob, queryJob, streamJob, watchJobs };
}

/** Validates a start (shape, capacity, sandbox, files) and hands it to the runner, which passes it to the spawner at once. */
async function acceptStart(parts: WorkerServiceParts, request: StartJobRequest): Promise<StartJobResponse> {
  const problem = startRequestProblem(request);
  if (problem) throw new BatonError('BAD_REQUEST', problem);
  parts.runner.checkAdmission(request.jobId);
  const { sandbox } = parts;
  const plan = sandbox.plan(request.resources, request.network, request.isolate);
  const env = jobEnvironment(process.env, sandbox.envAllow, request.jobId, request.env, sandbox.runAs);
  const seedPath = request.path === '' ? undefined : await parts.jobsFolder.resolveFile('path', request.path);
  const cwd = await parts.jobsFolder.resolveDirectory('cwd', request.cwd);
  const program = await sandbox.checkCommand(request.command, () => parts.commands.resolve(request.command, env.PATH ?? FALLBACK_PATH));
  // Only when the spawner has a backlog: then the answer waits, so callers slow down
  // to the rate jobs can really be started instead of filling the worker's capacity.
  await parts.runner.whenSpawnerReady();
  // Checked again before a cgroup is made for it: the look-ups above were asynchronous.
  parts.runner.checkAdmission(request.jobId);
  const args = seedPath === undefined ? request.args : [seedPath, ...request.args];
  const { launch, cgroup } = await sandbox.prepare(request.jobId, plan, program, args);
  try {
    parts.runner.start({
      jobId: request.jobId,
      command: request.command,
      program: launch.program,
      args: launch.args,
      cwd,
      env,
      uid: launch.uid,
      gid: launch.gid,
      cgroup,
      memoryLimitBytes: plan.limits.memoryBytes,
      timeoutMs: request.timeoutMs,
      ...(request.stdin.length > 0 && { stdin: request.stdin }),
    });
  } catch (err) {
    await cgroup?.release().catch(() => undefined);
    throw err;
  }
  return { jobId: request.jobId };
}
