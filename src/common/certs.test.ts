import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createCa, identityFromSubjectAltName, identityOfPem, initCaFiles, issueCert, issueCertFiles, readCa } from './certs.js';

describe('identityFromSubjectAltName', () => {
  const cases: [string | undefined, ReturnType<typeof identityFromSubjectAltName>][] = [
    ['DNS:localhost, IP Address:127.0.0.1, URI:baton://scheduler', { role: 'scheduler', name: 'scheduler' }],
    ['DNS:localhost, URI:baton://worker/w-1', { role: 'worker', name: 'w-1' }],
    ['URI:baton://worker/a.b_c-9', { role: 'worker', name: 'a.b_c-9' }],
    ['DNS:localhost', undefined],
    [undefined, undefined],
    ['', undefined],
    ['URI:baton://worker/', undefined],
    ['URI:baton://worker/../x', undefined],
    ['URI:https://baton/scheduler', undefined],
    ['DNS:baton://scheduler', undefined], // a DNS name that looks like the URI is not the URI
    ['URI:baton://worker/a, URI:baton://worker/b', undefined], // two identities: neither
    ['URI:baton://scheduler, URI:baton://worker/a', undefined],
  ];
  for (const [san, expected] of cases) {
    it(`${JSON.stringify(san)} → ${JSON.stringify(expected)}`, () => assert.deepEqual(identityFromSubjectAltName(san), expected));
  }
});

describe('certificates', () => {
  it('makes a P-256 CA and leaf certificates it signs, with SANs, usages and a role', async () => {
    const ca = await createCa();
    const caCert = new X509Certificate(ca.cert);
    assert.equal(caCert.ca, true);
    assert.equal(createPrivateKey(ca.key).asymmetricKeyDetails?.namedCurve, 'prime256v1');

    const worker = await issueCert(ca, { role: 'worker', name: 'w-1', dns: ['w1.example'], ips: ['10.0.0.7'] });
    const cert = new X509Certificate(worker.cert);
    assert.equal(cert.ca, false);
    assert.ok(cert.checkIssued(caCert) && cert.verify(caCert.publicKey));
    assert.ok(cert.checkPrivateKey(createPrivateKey(worker.key)));
    assert.match(cert.subject, /CN=w-1/);
    assert.match(cert.subject, /OU=worker/);
    assert.deepEqual(cert.keyUsage?.sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    assert.equal(cert.subjectAltName, 'DNS:localhost, DNS:w1.example, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:10.0.0.7, URI:baton://worker/w-1');
    assert.ok(cert.checkHost('localhost') && cert.checkIP('127.0.0.1') && cert.checkIP('::1'));
    assert.deepEqual(identityOfPem(worker.cert), { role: 'worker', name: 'w-1' });

    const scheduler = await issueCert(ca, { role: 'scheduler' });
    assert.match(new X509Certificate(scheduler.cert).subject, /CN=baton-scheduler/);
    assert.deepEqual(identityOfPem(scheduler.cert), { role: 'scheduler', name: 'scheduler' });
    assert.equal(identityOfPem(ca.cert), undefined);
  });

  it('refuses bad names and addresses', async () => {
    const ca = await createCa();
    await assert.rejects(issueCert(ca, { role: 'worker', name: '../etc' }), /not a valid worker name/);
    await assert.rejects(issueCert(ca, { role: 'worker' }), /not a valid worker name/);
    await assert.rejects(issueCert(ca, { role: 'scheduler', ips: ['300.1.1.1'] }), /not an IP address/);
    await assert.rejects(issueCert(ca, { role: 'scheduler', dns: ['a b'] }), /not a DNS name/);
  });

  it('writes key files 0600, refuses to replace a CA without force', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'baton-certs-'));
    try {
      const written = await initCaFiles(path.join(dir, 'certs'));
      assert.deepEqual(
        written.map((f) => path.basename(f)),
        ['ca.crt', 'ca.key'],
      );
      assert.equal(statSync(path.join(dir, 'certs', 'ca.key')).mode & 0o777, 0o600);
      const first = await readCa(path.join(dir, 'certs'));
      await assert.rejects(initCaFiles(path.join(dir, 'certs')), /a CA already exists at .*ca\.crt; use --force/);
      assert.deepEqual(await readCa(path.join(dir, 'certs')), first);
      await initCaFiles(path.join(dir, 'certs'), { force: true });
      assert.notEqual((await readCa(path.join(dir, 'certs'))).key, first.key);

      const files = await issueCertFiles(path.join(dir, 'certs'), { role: 'worker', name: 'w-2' });
      assert.equal(path.basename(files.cert), 'worker-w-2.crt');
      assert.equal(statSync(files.key).mode & 0o777, 0o600);
      await assert.rejects(issueCertFiles(path.join(dir, 'nothing'), { role: 'scheduler' }), /no CA in .*nothing.*baton certs init/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
