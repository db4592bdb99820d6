// The scheduler's channel to a worker against a real gRPC server on loopback playing the
// worker: starts asked for together leave as one message on the worker's Starts stream, each
// job with its own answer; a worker that hangs fails the batch and the next gets a new stream;
// a worker without Starts (an earlier version) gets one StartJob call per job instead.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { bindServer } from '../src/common/grpc.js';
import { StartJobRequest, WorkerServiceService, type StartsRequest, type WorkerServiceServer } from '../src/gen/baton/v1/worker.js';
import { WorkerChannel } from '../src/scheduler/worker-channel.js';

/** Refuses job ids starting with "full" (no room) or "bad" (bad request); accepts the rest. */
function verdict(jobId: string): { code: grpc.status; message: string } {
  if (jobId.startsWith('full')) return { code: grpc.status.RESOURCE_EXHAUSTED, message: 'worker w is at capacity (1 of 1)' };
  if (jobId.startsWith('bad')) return { code: grpc.status.INVALID_ARGUMENT, message: 'command not found: nope' };
  return { code: grpc.status.OK, message: '' };
}

interface FakeWorker {
  address: string;
  /** One entry per StartJob call or Starts message: the job ids it carried. */
  calls: string[][];
  streams: () => number;
  close: () => void;
}

/** A WorkerService with Starts (`withStream`; ids starting with "hang" are never answered) or, like an earlier worker, without. */
async function worker(withStream: boolean): Promise<FakeWorker> {
  const calls: string[][] = [];
  let streams = 0;
  const unimplemented = (_call: unknown, cb: grpc.sendUnaryData<never>): void => cb({ code: grpc.status.UNIMPLEMENTED, details: 'not here' } as grpc.ServiceError, null);
  const service: Partial<WorkerServiceServer> = {
    startJob: (call, cb) => {
      calls.push([call.request.jobId]);
      const { code, message } = verdict(call.request.jobId);
      if (code === grpc.status.OK) cb(null, { jobId: call.request.jobId });
      else cb({ code, details: message } as grpc.ServiceError, null);
    },
    ...(withStream && {
      starts: (call) => {
        streams++;
        call.on('data', ({ seq, jobs }: StartsRequest) => {
          calls.push(jobs.map((j) => j.jobId));
          if (!jobs.some((j) => j.jobId.startsWith('hang'))) call.write({ seq, results: jobs.map(({ jobId }) => ({ jobId, errorCode: '', ...verdict(jobId) })) });
        });
        call.on('end', () => call.end());
      },
    }),
    stopJob: unimplemented,
    queryJob: unimplemented,
  };
  const server = new grpc.Server();
  // An earlier worker's service has no Starts: grpc-js answers UNIMPLEMENTED for it.
  server.addService(WorkerServiceService, service as WorkerServiceServer);
  const port = await bindServer(server, '127.0.0.1:0', grpc.ServerCredentials.createInsecure());
  return { address: `127.0.0.1:${port}`, calls, streams: () => streams, close: () => server.forceShutdown() };
}

const request = (jobId: string): StartJobRequest => StartJobRequest.fromPartial({ jobId, command: 'true' });

/** Each start's outcome: "ok <id>" or the gRPC code name and details of its error. */
async function startAll(channel: WorkerChannel, ids: string[], timeoutMs = 5_000): Promise<string[]> {
  const outcomes = await Promise.allSettled(ids.map((id) => channel.startJob(request(id), timeoutMs)));
  return outcomes.map((o) =>
    o.status === 'fulfilled' ? `ok ${o.value.jobId}` : `${grpc.status[(o.reason as grpc.ServiceError).code]} ${(o.reason as grpc.ServiceError).details}`,
  );
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

  it('sends starts asked for together as one message on one stream; each job gets its own answer', async () => {
    const w = await worker(true);
    closers.push(w.close);
    const channel = channelTo(w.address);
    assert.deepEqual(await startAll(channel, ['a', 'full-1', 'b', 'bad-1']), want);
    assert.deepEqual(await startAll(channel, ['c']), ['ok c']);
    assert.deepEqual(w.calls, [['a', 'full-1', 'b', 'bad-1'], ['c']]);
    assert.equal(w.streams(), 1, 'the stream is kept open for the next starts');
  });

  it('a long pass is cut into messages the worker accepts, by count and by size', async () => {
    const w = await worker(true);
    closers.push(w.close);
    const channel = channelTo(w.address);
    const many = Array.from({ length: 2_500 }, (_, i) => `job-${i}`);
    const outcomes = await startAll(channel, many);
    assert.ok(outcomes.every((o, i) => o === `ok job-${i}`));
    assert.deepEqual(
      w.calls.map((c) => c.length),
      [1_000, 1_000, 500],
    );
    // 20 starts of 1 MiB each: 20 MiB in one message would be refused (the server here takes 4 MiB).
    const big = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => channel.startJob(StartJobRequest.fromPartial({ jobId: `big-${i}`, command: 'env', env: { DATA: 'x'.repeat(1024 * 1024) } }), 10_000)),
    );
    assert.deepEqual(
      big.map((o) => o.status),
      Array(20).fill('fulfilled'),
      JSON.stringify(big.find((o) => o.status === 'rejected')),
    );
    assert.ok(w.calls.length > 4, 'the big starts went in several messages');
    assert.equal(w.streams(), 1);
  });

  it('a start bigger than any message a worker takes is refused without being sent; the others go', async () => {
    const w = await worker(true);
    closers.push(w.close);
    const channel = channelTo(w.address);
    const huge = channel.startJob(StartJobRequest.fromPartial({ jobId: 'huge', command: 'env', env: { DATA: 'x'.repeat(17 * 1024 * 1024) } }), 5_000).then(
      () => 'started',
      (err: grpc.ServiceError) => `${grpc.status[err.code]} ${err.details}`,
    );
    assert.deepEqual(await startAll(channel, ['a']), ['ok a']);
    assert.match(await huge, /^INVALID_ARGUMENT the job is too large to send to a worker: 17\.0 MiB/);
    assert.deepEqual(w.calls, [['a']]);
  });

  it('a batch the worker does not answer fails at its timeout; the next opens a new stream', async () => {
    const w = await worker(true);
    closers.push(w.close);
    const channel = channelTo(w.address);
    assert.deepEqual(await startAll(channel, ['hang-1', 'a'], 300), [
      'DEADLINE_EXCEEDED the worker did not answer a start within 300 ms',
      'DEADLINE_EXCEEDED the worker did not answer a start within 300 ms',
    ]);
    assert.deepEqual(await startAll(channel, ['b']), ['ok b']);
    assert.equal(w.streams(), 2);
  });

  it('falls back to one StartJob per job for a worker without Starts, and stays there', async () => {
    const w = await worker(false);
    closers.push(w.close);
    const channel = channelTo(w.address);
    assert.deepEqual(await startAll(channel, ['a', 'full-1', 'b', 'bad-1']), want);
    // The stream is refused before any handler: only the four StartJob calls arrive.
    assert.deepEqual(w.calls, [['a'], ['full-1'], ['b'], ['bad-1']]);
    assert.deepEqual(await startAll(channel, ['c', 'd']), ['ok c', 'ok d']);
    assert.deepEqual(w.calls.slice(4), [['c'], ['d']]);
  });

  it('an unreachable worker fails every start with UNAVAILABLE, as a call would', async () => {
    const w = await worker(true);
    w.close();
    const channel = channelTo(w.address);
    const outcomes = await startAll(channel, ['a', 'b']);
    assert.equal(outcomes.length, 2);
    // In the words the dispatcher reads as "never reached it" (the job may go to another worker).
    for (const o of outcomes) assert.match(o, /^UNAVAILABLE .*(No connection established|ECONNREFUSED)/);
  });
});
