// Stock gRPC tooling works against both servers: the standard health service and server reflection.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { service as healthService } from 'grpc-health-check';
import { startScheduler, startWorker, type SchedulerHandle, type WorkerHandle } from './harness.js';

const require = createRequire(import.meta.url);
const reflectionProto = require.resolve('@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto');

type Health = grpc.Client & { check(req: { service: string }, cb: (err: grpc.ServiceError | null, res?: { status: string }) => void): void };

function healthOf(address: string, service: string): Promise<string> {
  const Client = grpc.makeGenericClientConstructor(healthService, 'Health');
  const client = new Client(address, grpc.credentials.createInsecure()) as unknown as Health;
  return new Promise((resolve, reject) =>
    client.check({ service }, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res!.status);
    }),
  );
}

function listServices(address: string): Promise<string[]> {
  const def = protoLoader.loadSync(reflectionProto);
  const pkg = grpc.loadPackageDefinition(def) as unknown as { grpc: { reflection: { v1: { ServerReflection: grpc.ServiceClientConstructor } } } };
  const client = new pkg.grpc.reflection.v1.ServerReflection(address, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    const call = (client as unknown as { serverReflectionInfo(): grpc.ClientDuplexStream<unknown, { listServicesResponse?: { service: { name: string }[] } }> }).serverReflectionInfo();
    call.on('data', (res) => {
      call.end();
      client.close();
      resolve(res.listServicesResponse?.service.map((s: { name: string }) => s.name) ?? []);
    });
    call.on('error', reject);
    call.write({ listServices: '' });
  });
}

describe('standard gRPC services', () => {
  let scheduler: SchedulerHandle;
  let worker: WorkerHandle;
  let workerAddress: string;

  before(async () => {
    scheduler = await startScheduler();
    worker = await startWorker(scheduler);
    workerAddress = String((await worker.waitForLog((l) => l.msg === 'worker ready')).address);
  });

  it('reports SERVING on both servers', async () => {
    assert.equal(await healthOf(scheduler.grpc, ''), 'SERVING');
    assert.equal(await healthOf(scheduler.grpc, 'baton.v1.SchedulerService'), 'SERVING');
    assert.equal(await healthOf(workerAddress, ''), 'SERVING');
    assert.equal(await healthOf(workerAddress, 'baton.v1.WorkerService'), 'SERVING');
    await assert.rejects(healthOf(workerAddress, 'no.such.Service'), (err: grpc.ServiceError) => err.code === grpc.status.NOT_FOUND);
  });

  it('lists Baton services through reflection', async () => {
    assert.ok((await listServices(scheduler.grpc)).includes('baton.v1.SchedulerService'));
    assert.ok((await listServices(workerAddress)).includes('baton.v1.WorkerService'));
  });
});
