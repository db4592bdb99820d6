// Mutual TLS between scheduler and workers: who may call whom, TLS 1.3 only, and a SIGHUP
// certificate reload that leaves running work alone.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { initCaFiles, issueCertFiles, type CertFiles } from '../src/common/certs.js';
import { SchedulerServiceClient } from '../src/gen/baton/v1/scheduler.js';
import { WorkerServiceClient } from '../src/gen/baton/v1/worker.js';
import { HeartbeatStream } from '../src/worker/heartbeat-stream.js';
import {
  EXAMPLE_JOBS,
  curlPost,
  getJson,
  jobsDir,
  startProcess,
  startScheduler,
  startWorker,
  tempDir,
  waitForFinal,
  workerCert,
  type SchedulerHandle,
  type WorkerHandle,
} from './harness.js';

const pem = (file: string): Buffer => readFileSync(file);

function credentials(files: Partial<CertFiles> & { ca: string }): grpc.ChannelCredentials {
  const context = tls.createSecureContext({
    ca: pem(files.ca),
    ...(files.cert ? { cert: pem(files.cert) } : {}),
    ...(files.key ? { key: pem(files.key) } : {}),
    minVersion: 'TLSv1.3',
  });
  return grpc.credentials.createFromSecureContext(context);
}

/** Every Baton certificate carries "localhost": dial that rather than the IP. */
const viaLocalhost = (address: string): string => address.replace(/^127\.0\.0\.1:/, 'localhost:');

function call<Res>(invoke: (cb: (err: grpc.ServiceError | null, res: Res) => void) => unknown): Promise<Res> {
  return new Promise((resolve, reject) => invoke((err, res) => (err ? reject(err) : resolve(res))));
}

const deadline = (): Partial<grpc.CallOptions> => ({ deadline: Date.now() + 5_000 });

function register(client: SchedulerServiceClient, workerId: string, address = '127.0.0.1:1'): Promise<unknown> {
  return call((cb) => client.registerWorker({ workerId, address, labels: {}, capacity: 1, jobs: [], version: 'test' }, new grpc.Metadata(), deadline(), cb));
}

function refusedWith(code: grpc.status, text?: RegExp): (err: grpc.ServiceError) => boolean {
  return (err) => {
    assert.equal(err.code, code, `expected ${grpc.status[code]}, got ${grpc.status[err.code]}: ${err.details}`);
    if (text) assert.match(err.details, text);
    return true;
  };
}

/** A raw TLS handshake against `port`; resolves with the negotiated protocol or rejects. */
function handshake(port: number, files: CertFiles, options: tls.ConnectionOptions): Promise<{ protocol: string | null; serial: string }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      { host: '127.0.0.1', port, servername: 'localhost', ca: pem(files.ca), cert: pem(files.cert), key: pem(files.key), ALPNProtocols: ['h2'], ...options },
      () => {
        const result = { protocol: socket.getProtocol(), serial: socket.getPeerCertificate().serialNumber };
        socket.destroy();
        resolve(result);
      },
    );
    socket.once('error', reject);
  });
}

describe('mutual TLS', () => {
  let scheduler: SchedulerHandle;
  let worker: WorkerHandle;
  let workerAddress: string;
  let schedulerFiles: CertFiles;
  let otherWorker: CertFiles;

  before(async () => {
    scheduler = await startScheduler();
    worker = await startWorker(scheduler, { jobsDir: jobsDir({ 'ticks.sh': '#!/bin/bash\nfor i in $(seq 1 25); do echo "tick $i"; sleep 0.2; done\n' }) });
    workerAddress = String((await worker.waitForLog((l) => l.msg === 'worker ready')).address);
    schedulerFiles = { ca: path.join(scheduler.certsDir, 'ca.crt'), cert: path.join(scheduler.certsDir, 'scheduler.crt'), key: path.join(scheduler.certsDir, 'scheduler.key') };
    otherWorker = await workerCert(scheduler.certsDir, 'other');
  });

  it('keeps a worker with a certificate from another CA out', async () => {
    const foreign = tempDir('baton-foreign-ca-');
    await initCaFiles(foreign);
    const stranger = await issueCertFiles(foreign, { role: 'worker', name: 'stranger' });

    // Trusting our CA but holding a foreign certificate: the scheduler refuses the handshake.
    const client = new SchedulerServiceClient(viaLocalhost(scheduler.grpc), credentials({ ...stranger, ca: schedulerFiles.ca }));
    await assert.rejects(register(client, 'stranger'), refusedWith(grpc.status.UNAVAILABLE));
    client.close();

    // A whole worker process set up with the other CA never gets registered.
    const proc = startProcess('stranger', [
      'worker',
      '--id',
      'stranger',
      '--listen',
      '127.0.0.1:0',
      '--scheduler',
      scheduler.grpc,
      '--data-dir',
      tempDir('baton-worker-'),
      '--jobs-dir',
      EXAMPLE_JOBS,
      '--certs-dir',
      foreign,
    ]);
    await proc.waitForLog((l) => l.msg === 'cannot register with the scheduler; retrying (is it running at this address?)');
    const { json } = await getJson(`${scheduler.api}/v1/workers`);
    assert.ok(!(json.workers as { id: string }[]).some((w) => w.id === 'stranger'));
    await proc.kill();
  });

  it('lets a worker register, heartbeat and deregister only as itself', async () => {
    const asOther = new SchedulerServiceClient(viaLocalhost(scheduler.grpc), credentials(otherWorker));
    const notYours = refusedWith(
      grpc.status.PERMISSION_DENIED,
      new RegExp(`calls for worker "${worker.id}" require that worker's certificate; the caller presented the certificate of worker "other"`),
    );
    await assert.rejects(register(asOther, worker.id), notYours);
    await assert.rejects(
      call((cb) => asOther.heartbeat({ workerId: worker.id, running: 0, draining: false }, new grpc.Metadata(), deadline(), cb)),
      notYours,
    );
    await assert.rejects(
      call((cb) => asOther.deregisterWorker({ workerId: worker.id }, new grpc.Metadata(), deadline(), cb)),
      notYours,
    );
    // The heartbeat stream workers use: the refusal ends it, and the beat waiting on it fails with it.
    const stream = new HeartbeatStream(asOther);
    await assert.rejects(stream.beat({ workerId: worker.id, running: 0, draining: false }, 5_000), notYours);
    stream.close();
    asOther.close();

    // The scheduler's own certificate does not speak for a worker either.
    const asScheduler = new SchedulerServiceClient(viaLocalhost(scheduler.grpc), credentials(schedulerFiles));
    await assert.rejects(
      call((cb) => asScheduler.heartbeat({ workerId: worker.id, running: 0, draining: false }, new grpc.Metadata(), deadline(), cb)),
      refusedWith(grpc.status.PERMISSION_DENIED, /the caller presented the scheduler's certificate/),
    );
    asScheduler.close();

    const { json } = await getJson(`${scheduler.api}/v1/workers/${worker.id}`);
    assert.equal(json.state, 'up');
  });

  it('answers WorkerService calls only with the scheduler certificate', async () => {
    const startRequest = {
      jobId: '0193a000-0000-7000-8000-000000000001',
      command: 'true',
      path: '',
      args: [],
      env: {},
      cwd: '',
      resources: undefined,
      network: '',
      isolate: false,
      timeoutMs: 0,
      stdin: Buffer.alloc(0),
    };

    const noCert = new WorkerServiceClient(viaLocalhost(workerAddress), credentials({ ca: schedulerFiles.ca }));
    await assert.rejects(
      call((cb) => noCert.startJob(startRequest, new grpc.Metadata(), deadline(), cb)),
      refusedWith(grpc.status.UNAVAILABLE),
    );
    noCert.close();

    const asOther = new WorkerServiceClient(viaLocalhost(workerAddress), credentials(otherWorker));
    const denied = refusedWith(grpc.status.PERMISSION_DENIED, /requires the scheduler's certificate; the caller presented the certificate of worker "other"/);
    await assert.rejects(
      call((cb) => asOther.startJob(startRequest, new grpc.Metadata(), deadline(), cb)),
      denied,
    );
    await assert.rejects(
      call((cb) => asOther.queryJob({ jobId: startRequest.jobId }, new grpc.Metadata(), deadline(), cb)),
      denied,
    );
    await assert.rejects(
      call((cb) => asOther.stopJob({ jobId: startRequest.jobId, graceMs: 0 }, new grpc.Metadata(), deadline(), cb)),
      denied,
    );
    await assert.rejects(
      new Promise((resolve, reject) => {
        const stream = asOther.watchJobs({ afterSeq: 0 });
        stream.on('data', () => reject(new Error('a worker certificate was sent job statuses')));
        stream.on('error', reject);
        stream.on('end', resolve);
      }),
      denied,
    );
    await assert.rejects(
      new Promise((resolve, reject) => {
        const stream = asOther.starts();
        stream.on('data', () => reject(new Error('a worker certificate had a job started')));
        stream.on('error', reject);
        stream.on('end', resolve);
        stream.write({ seq: 1, jobs: [startRequest] });
      }),
      denied,
    );
    await assert.rejects(
      new Promise((resolve, reject) => {
        const stream = asOther.streamJob({ jobId: startRequest.jobId, offset: 0, follow: true, stream: 0 });
        stream.on('data', () => reject(new Error("a worker certificate was sent a job's output")));
        stream.on('error', reject);
        stream.on('end', resolve);
      }),
      denied,
    );
    asOther.close();

    // The scheduler's certificate gets an answer (NOT_FOUND: no such job here).
    const asScheduler = new WorkerServiceClient(viaLocalhost(workerAddress), credentials(schedulerFiles));
    await assert.rejects(
      call((cb) => asScheduler.queryJob({ jobId: startRequest.jobId }, new grpc.Metadata(), deadline(), cb)),
      refusedWith(grpc.status.NOT_FOUND),
    );
    asScheduler.close();
  });

  it('dials a worker only if it presents that worker certificate', async () => {
    // "other" registers (as itself) but advertises the real worker's address: the scheduler
    // must not accept the real worker's certificate as "other" on that channel.
    const asOther = new SchedulerServiceClient(viaLocalhost(scheduler.grpc), credentials(otherWorker));
    await register(asOther, 'other', workerAddress);
    asOther.close();
    const res = await curlPost(`${scheduler.api}/v1/jobs`, { worker_id: 'other', command: 'true' });
    assert.equal(res.status, 502, res.text);
    assert.match(String(res.json.error), new RegExp(`worker other .*presented the certificate of worker \\"?${worker.id}\\"?, not the certificate of worker \\"?other`));
  });

  it('refuses TLS 1.2 on both servers', async () => {
    const workerPort = Number(workerAddress.split(':').pop());
    const schedulerPort = Number(scheduler.grpc.split(':').pop());
    for (const port of [workerPort, schedulerPort]) {
      assert.equal((await handshake(port, schedulerFiles, {})).protocol, 'TLSv1.3');
      await assert.rejects(handshake(port, schedulerFiles, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' }), /protocol version|wrong version|alert/i);
    }
  });

  it('reloads certificates on SIGHUP without breaking a running job or its output stream', async () => {
    const start = await curlPost(`${scheduler.api}/start`, { worker_id: worker.id, command: 'bash', path: 'ticks.sh' });
    assert.equal(start.status, 201, start.text);
    const jobId = String(start.json.job_id);

    const res = await fetch(`${scheduler.api}/stream`, { method: 'POST', body: JSON.stringify({ worker_id: worker.id, job_id: jobId }) });
    assert.equal(res.status, 200);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes('tick 2\n')) {
      const { value, done } = await reader.read();
      assert.ok(!done, `stream ended early: ${text}`);
      text += value;
    }

    // New certificates from the same CA, then SIGHUP to both.
    const workerPort = Number(workerAddress.split(':').pop());
    const before = await handshake(workerPort, schedulerFiles, {});
    const renewed = await issueCertFiles(scheduler.certsDir, { role: 'worker', name: worker.id });
    await issueCertFiles(scheduler.certsDir, { role: 'scheduler' });
    const seen = { worker: worker.logs.length, scheduler: scheduler.logs.length };
    worker.child.kill('SIGHUP');
    scheduler.child.kill('SIGHUP');
    const reloaded = (l: { msg?: string }): boolean => l.msg === 'TLS certificates reloaded; new connections use them';
    await worker.waitForLog((l) => reloaded(l) && worker.logs.indexOf(l) >= seen.worker);
    await scheduler.waitForLog((l) => reloaded(l) && scheduler.logs.indexOf(l) >= seen.scheduler);

    // New connections get the new certificate...
    const after = await handshake(workerPort, schedulerFiles, {});
    assert.notEqual(after.serial, before.serial);
    assert.equal(after.serial, new X509Certificate(pem(renewed.cert)).serialNumber);

    // ...while the open stream carries on to the end, and the job's end reaches the scheduler.
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    assert.deepEqual(
      text.trim().split('\n'),
      Array.from({ length: 25 }, (_, i) => `tick ${i + 1}`),
    );
    const job = await waitForFinal(scheduler.api, jobId);
    assert.equal(job.state, 'succeeded');
    assert.ok(worker.child.exitCode === null && scheduler.child.exitCode === null, 'both still running');

    // And a fresh call through the scheduler still works.
    const again = await curlPost(`${scheduler.api}/query`, { worker_id: worker.id, job_id: jobId });
    assert.equal(again.status, 200, again.text);
  });

  it('refuses plaintext off loopback and explains how to get certificates', async () => {
    const insecure = startProcess('insecure', [
      'worker',
      '--id',
      'x',
      '--listen',
      '0.0.0.0:0',
      '--scheduler',
      scheduler.grpc,
      '--insecure',
      '--data-dir',
      tempDir(),
      '--jobs-dir',
      EXAMPLE_JOBS,
    ]);
    assert.equal((await insecure.exited).code, 1);
    assert.match(insecure.output.join(''), /^baton: refusing to use 0\.0\.0\.0:0 without TLS: plaintext gRPC \(--insecure\) is only allowed on loopback addresses/m);

    const scheduler0 = startProcess('insecure scheduler', ['scheduler', '--http', '127.0.0.1:0', '--grpc', '0.0.0.0:0', '--insecure', '--no-auth', '--data-dir', tempDir()]);
    assert.equal((await scheduler0.exited).code, 1);
    assert.match(scheduler0.output.join(''), /^baton: refusing to serve gRPC on 0\.0\.0\.0:0 without TLS: plaintext gRPC \(--insecure\) is only allowed on loopback addresses/m);

    const noCerts = startProcess('no certs', ['scheduler', '--http', '127.0.0.1:0', '--grpc', '127.0.0.1:0', '--data-dir', tempDir(), '--certs-dir', tempDir()]);
    assert.equal((await noCerts.exited).code, 1);
    assert.match(noCerts.output.join(''), /no TLS certificate for this scheduler: .* Create them with `baton certs init --dir .* && baton certs issue scheduler --dir .*`/);
  });
});
