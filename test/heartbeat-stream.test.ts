// The worker's heartbeat stream against a real gRPC server on loopback that plays a scheduler
// which answers, one that hangs (never answers), and one that ends the stream with NOT_FOUND.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { bindServer } from '../src/common/grpc.js';
import { SchedulerServiceClient, SchedulerServiceService, type HeartbeatsRequest, type SchedulerServiceServer } from '../src/gen/baton/v1/scheduler.js';
import { HeartbeatStream } from '../src/worker/heartbeat-stream.js';

type Behaviour = 'answer' | 'hang' | 'forget';

/** A SchedulerService whose Heartbeats does what `behaviour()` says at each beat; counts streams and beats. */
async function scheduler(behaviour: () => Behaviour): Promise<{ client: SchedulerServiceClient; streams: () => number; beats: () => number; close: () => void }> {
  let streams = 0;
  let beats = 0;
  const unimplemented = (_call: unknown, cb: grpc.sendUnaryData<never>): void => cb({ code: grpc.status.UNIMPLEMENTED } as grpc.ServiceError, null);
  const service: SchedulerServiceServer = {
    registerWorker: unimplemented,
    deregisterWorker: unimplemented,
    heartbeat: unimplemented,
    heartbeats: (call) => {
      streams++;
      call.on('data', (_beat: HeartbeatsRequest) => {
        beats++;
        const now = behaviour();
        if (now === 'answer') call.write({});
        if (now === 'forget') call.emit('error', { code: grpc.status.NOT_FOUND, details: 'worker "w" is not registered; register again' });
      });
      call.on('end', () => call.end());
    },
  };
  const server = new grpc.Server();
  server.addService(SchedulerServiceService, service);
  const port = await bindServer(server, '127.0.0.1:0', grpc.ServerCredentials.createInsecure());
  const client = new SchedulerServiceClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return {
    client,
    streams: () => streams,
    beats: () => beats,
    close: () => {
      client.close();
      server.forceShutdown();
    },
  };
}

const beat = { workerId: 'w', running: 0, draining: false };

describe('heartbeat stream', () => {
  const closers: (() => void)[] = [];
  after(() => closers.forEach((close) => close()));

  it('sends every beat on one stream while the scheduler answers', async () => {
    const s = await scheduler(() => 'answer');
    closers.push(s.close);
    const stream = new HeartbeatStream(s.client);
    for (let i = 0; i < 5; i++) await stream.beat(beat, 5_000);
    // Two at once are answered in order, each once.
    await Promise.all([stream.beat(beat, 5_000), stream.beat(beat, 5_000)]);
    assert.equal(s.beats(), 7);
    assert.equal(s.streams(), 1);
    stream.close();
  });

  it('fails a beat a hung scheduler does not answer in time, and opens a new stream for the next', async () => {
    let hung = true;
    const s = await scheduler(() => (hung ? 'hang' : 'answer'));
    closers.push(s.close);
    const stream = new HeartbeatStream(s.client);
    await assert.rejects(stream.beat(beat, 300), /no answer to a heartbeat within 300 ms/);
    hung = false;
    await stream.beat(beat, 5_000);
    assert.equal(s.streams(), 2);
    stream.close();
  });

  it('fails the beat with the status a scheduler ends the stream with (NOT_FOUND: register again)', async () => {
    const s = await scheduler(() => 'forget');
    closers.push(s.close);
    const stream = new HeartbeatStream(s.client);
    await assert.rejects(stream.beat(beat, 5_000), (err: grpc.ServiceError) => err.code === grpc.status.NOT_FOUND && /register again/.test(err.details));
    stream.close();
  });

  it('fails the beats waiting when closed', async () => {
    const s = await scheduler(() => 'hang');
    closers.push(s.close);
    const stream = new HeartbeatStream(s.client);
    const waiting = stream.beat(beat, 60_000);
    stream.close();
    await assert.rejects(waiting, /heartbeat stream closed/);
  });
});
