// Stock gRPC tooling works against both servers over mutual TLS: the standard health service and server reflection.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { service as healthService } from 'grpc-health-check';
import { startScheduler, startWorker, workerCert, type SchedulerHandle, type WorkerHandle } from './harness.js';

const require = createRequire(import.meta.url);
const reflectionProto = require.resolve('@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto');

type Health = grpc.Client & { check(req: { service: string }, cb: (err: grpc.ServiceError | null, res?: { status: string }) => void): void };

// A probe holding any certificate of the cluster's CA (here: a worker's), TLS 1.3, dialling
// "localhost" (a DNS name every Baton certificate carries) rather than the IP.
let creds: grpc.ChannelCredentials;
const viaLocalhost = (address: string): string => address.replace(/^127\.0\.0\.1:/, 'localhost:');

function healthOf(address: string, service: string): Promise<string> {
  const Client = grpc.makeGenericClientConstructor(healthService, 'Health');
  const client = new Client(viaLocalhost(address), creds) as unknown as Health;
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
  const client = new pkg.grpc.reflection.v1.ServerReflection(viaLocalhost(address), creds);
  return new Promise((resolve, reject) => {
    const call = (
      client as unknown as { serverReflectionInfo(): grpc.ClientDuplexStream<unknown, { listServicesResponse?: { service: { name: string }[] } }> }
    ).serverReflectionInfo();
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
    const probe = await workerCert(scheduler.certsDir, 'health-probe');
    const pem = (f: string): Buffer => readFileSync(f);
    creds = grpc.credentials.createFromSecureContext(tls.createSecureContext({ ca: pem(probe.ca), cert: pem(probe.cert), key: pem(probe.key), minVersion: 'TLSv1.3' }));
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
