// The scheduler's channel to a worker against a real gRPC server on loopback playing the
// worker: starts asked for together leave as one StartJobs call, each job with its own answer;
// a worker without StartJobs (an earlier version) gets one StartJob per job instead.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { bindServer } from '../src/common/grpc.js';
import { StartJobRequest, WorkerServiceService, type WorkerServiceServer } from '../src/gen/baton/v1/worker.js';
import { WorkerChannel } from '../src/scheduler/worker-channel.js';

/** Refuses job ids starting with "full" (no room) or "bad" (bad request); accepts the rest. */
function verdict(jobId: string): { code: grpc.status; message: string } {
  if (jobId.startsWith('full')) return { code: grpc.status.RESOURCE_EXHAUSTED, message: 'worker w is at capacity (1 of 1)' };
  if (jobId.startsWith('bad')) return { code: grpc.status.INVALID_ARGUMENT, message: 'command not found: nope' };
  return { code: grpc.status.OK, message: '' };
}

/** A WorkerService that records the calls it gets: one entry per call, the job ids it carried. */
async function worker(withStartJobs: boolean): Promise<{ address: string; calls: string[][]; close: () => void }> {
  const calls: string[][] = [];
  const unimplemented = (_call: unknown, cb: grpc.sendUnaryData<never>): void => cb({ code: grpc.status.UNIMPLEMENTED, details: 'not here' } as grpc.ServiceError, null);
  const service: Partial<WorkerServiceServer> = {
    startJob: (call, cb) => {
      calls.push([call.request.jobId]);
      const { code, message } = verdict(call.request.jobId);
      if (code === grpc.status.OK) cb(null, { jobId: call.request.jobId });
      else cb({ code, details: message } as grpc.ServiceError, null);
    },
    ...(withStartJobs && {
      startJobs: (call, cb) => {
        calls.push(call.request.jobs.map((j) => j.jobId));
        cb(null, { results: call.request.jobs.map(({ jobId }) => ({ jobId, ...verdict(jobId) })) });
      },
    }),
    stopJob: unimplemented,
    queryJob: unimplemented,
  };
  const server = new grpc.Server();
  // An earlier worker's service has no StartJobs: grpc-js answers UNIMPLEMENTED for it.
  server.addService(WorkerServiceService, service as WorkerServiceServer);
  const port = await bindServer(server, '127.0.0.1:0', grpc.ServerCredentials.createInsecure());
  return { address: `127.0.0.1:${port}`, calls, close: () => server.forceShutdown() };
}

const request = (jobId: string): StartJobRequest => StartJobRequest.fromPartial({ jobId, command: 'true' });

/** Each start's outcome: "ok" or the gRPC code name and details of its error. */
async function startAll(channel: WorkerChannel, ids: string[]): Promise<string[]> {
  const outcomes = await Promise.allSettled(ids.map((id) => channel.startJob(request(id), 5_000)));
  return outcomes.map((o) => (o.status === 'fulfilled' ? `ok ${o.value.jobId}` : `${grpc.status[(o.reason as grpc.ServiceError).code]} ${(o.reason as grpc.ServiceError).details}`));
}

const want = ['ok a', 'RESOURCE_EXHAUSTED worker w is at capacity (1 of 1)', 'ok b', 'INVALID_ARGUMENT command not found: nope'];

describe('worker channel starts', () => {
  const closers: (() => void)[] = [];
  after(() => closers.forEach((close) => close()));
  const channelTo = (address: string): WorkerChannel => {
    const channel = new WorkerChannel('w', address, async () => undefined, pino({ level: 'silent' }), { kind: 'insecure' });
    closers.push(() => channel.close());
    return channel;
  };

  it('sends starts asked for together as one StartJobs call; each job gets its own answer', async () => {
    const w = await worker(true);
    closers.push(w.close);
    const channel = channelTo(w.address);
    assert.deepEqual(await startAll(channel, ['a', 'full-1', 'b', 'bad-1']), want);
    assert.deepEqual(w.calls, [['a', 'full-1', 'b', 'bad-1']]);
    // One start alone goes as StartJob.
    assert.deepEqual(await startAll(channel, ['c']), ['ok c']);
    assert.deepEqual(w.calls.at(-1), ['c']);
  });

  it('falls back to one StartJob per job for a worker without StartJobs, and stays there', async () => {
    const w = await worker(false);
    closers.push(w.close);
    const channel = channelTo(w.address);
    assert.deepEqual(await startAll(channel, ['a', 'full-1', 'b', 'bad-1']), want);
    // The StartJobs attempt is refused before the handler: only the four StartJob calls arrive.
    assert.deepEqual(w.calls, [['a'], ['full-1'], ['b'], ['bad-1']]);
    assert.deepEqual(await startAll(channel, ['c', 'd']), ['ok c', 'ok d']);
    assert.deepEqual(w.calls.slice(4), [['c'], ['d']]);
  });

  it('a call that fails as a whole fails every start it carried, with its error', async () => {
    const w = await worker(true);
    w.close();
    const channel = channelTo(w.address);
    const outcomes = await startAll(channel, ['a', 'b']);
    assert.equal(outcomes.length, 2);
    for (const o of outcomes) assert.match(o, /^UNAVAILABLE /);
  });
});
