// `baton dev` (what `npm start` runs): a whole local cluster, and Ctrl-C leaves nothing behind.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { startProcess, tempDir, jobsDir, freePort, curlPost, getJson, waitForFinal, processesMatching } from './harness.js';

describe('baton dev', () => {
  it('runs a scheduler and two workers, prints how to use them, and stops all of it on SIGINT', async () => {
    const [http, grpc, workerPort] = await Promise.all([freePort(), freePort(), freePort()]);
    const dataDir = tempDir('baton-dev-');
    const marker = `${400 + randomInt(1000)}.${randomInt(1000)}`;
    const jobs = jobsDir({ 'long.sh': `#!/bin/bash\nsleep ${marker}\n` });
    const args = ['dev', '--http', `127.0.0.1:${http}`, '--grpc', `127.0.0.1:${grpc}`, '--worker-port', String(workerPort), '--data-dir', dataDir, '--jobs-dir', jobs];
    const dev = startProcess('dev', args);
    await dev.waitForText('Ctrl-C stops everything');
    const banner = dev.output.join('\n');
    assert.match(banner, new RegExp(`http://127\\.0\\.0\\.1:${http}`));
    assert.match(banner, /worker-1, worker-2/);
    // Its own CA and certificates, made on first run: mutual TLS even in dev, keys private.
    assert.match(banner, /gRPC security\s+mutual TLS 1\.3/);
    for (const name of ['ca', 'scheduler', 'worker-worker-1', 'worker-worker-2']) {
      assert.equal(statSync(path.join(dataDir, 'certs', `${name}.key`)).mode & 0o777, 0o600, `${name}.key`);
      assert.ok(existsSync(path.join(dataDir, 'certs', `${name}.crt`)), `${name}.crt`);
    }
    assert.match(banner, /curl -s -XPOST .*\/start -d '\{"worker_id":"worker-1","command":"bash","path":"count.sh"\}'/);

    const { json } = await getJson(`http://127.0.0.1:${http}/v1/workers`);
    assert.deepEqual((json.workers as { id: string }[]).map((w) => w.id).sort(), ['worker-1', 'worker-2']);
    const start = await curlPost(`http://127.0.0.1:${http}/start`, { worker_id: 'worker-2', command: 'bash', path: 'long.sh' });
    assert.equal(start.status, 201);
    const jobId = String(start.json.job_id);

    dev.child.kill('SIGINT');
    const exit = await dev.exited;
    assert.equal(exit.code, 0);
    assert.deepEqual(await processesMatching(dataDir), [], 'no scheduler or worker process left');
    assert.deepEqual(await processesMatching(`sleep ${marker}`), [], 'no job process left');

    // The job was recorded as stopped before the cluster went down.
    const again = startProcess('dev', args);
    await again.waitForText('Ctrl-C stops everything');
    const job = await waitForFinal(`http://127.0.0.1:${http}`, jobId);
    assert.equal(job.state, 'stopped');
    again.child.kill('SIGINT');
    assert.equal((await again.exited).code, 0);
  });
});
