import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { certFiles, initCaFiles, issueCertFiles } from './certs.js';
import { certifiedWorkerId, TlsMaterial, workerCallerProblem } from './grpc.js';

const callFrom = (subjectaltname?: string) => ({ getAuthContext: () => (subjectaltname ? { sslPeerCertificate: { subjectaltname } as never } : {}) });

describe('gRPC security checks', () => {
  it('lets only worker X speak for worker X under TLS', () => {
    const tls = { kind: 'tls' as const, tls: {} as TlsMaterial };
    assert.equal(workerCallerProblem(callFrom('URI:baton://worker/a'), tls, 'a'), undefined);
    assert.match(workerCallerProblem(callFrom('URI:baton://worker/b'), tls, 'a')!.message, /require that worker's certificate; the caller presented the certificate of worker "b"/);
    assert.match(workerCallerProblem(callFrom('URI:baton://scheduler'), tls, 'a')!.message, /the scheduler's certificate/);
    assert.match(workerCallerProblem(callFrom(), tls, 'a')!.message, /no Baton certificate/);
    assert.equal(workerCallerProblem(callFrom(), { kind: 'insecure' }, 'a'), undefined);
  });

  it('loads, checks and reloads certificate files, keeping the old ones on a bad reload', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'baton-tls-'));
    try {
      await initCaFiles(dir);
      await issueCertFiles(dir, { role: 'worker', name: 'w-1' });
      await issueCertFiles(dir, { role: 'worker', name: 'w-2' });
      const files = certFiles(dir, { role: 'worker', name: 'w-1' });
      const material = await TlsMaterial.load(files);
      assert.deepEqual(material.identity, { role: 'worker', name: 'w-1' });
      assert.equal(certifiedWorkerId({ kind: 'tls', tls: material }, undefined), 'w-1');
      assert.throws(() => certifiedWorkerId({ kind: 'tls', tls: material }, 'w-9'), /worker id "w-9" does not match its certificate/);

      let reloads = 0;
      material.onReload(() => reloads++);
      await issueCertFiles(dir, { role: 'worker', name: 'w-1' });
      await material.reload();
      assert.equal(reloads, 1);

      // Another worker's certificate under this name, or a key that does not match: refused.
      const other = certFiles(dir, { role: 'worker', name: 'w-2' });
      copyFileSync(other.cert, files.cert);
      copyFileSync(other.key, files.key);
      await assert.rejects(material.reload(), /names the certificate of worker "w-2", not the certificate of worker "w-1"/);
      await issueCertFiles(dir, { role: 'worker', name: 'w-1' });
      copyFileSync(other.key, files.key);
      await assert.rejects(material.reload(), /cannot use .* with /);
      writeFileSync(files.cert, 'not a certificate');
      await assert.rejects(material.reload());
      assert.equal(reloads, 1);

      // Signed by another CA: refused at load.
      const foreign = path.join(dir, 'foreign');
      await initCaFiles(foreign);
      const stranger = await issueCertFiles(foreign, { role: 'worker', name: 'w-1' });
      await assert.rejects(TlsMaterial.load({ ...stranger, ca: files.ca }), /is not signed by the CA/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
