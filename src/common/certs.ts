/**
 * The cluster's certificates: a CA, and certificates it signs for the scheduler and for
 * each worker. ECDSA P-256 keys, ECDSA-with-SHA-256 signatures, made in-process with
 * @peculiar/x509 on Node's WebCrypto (no openssl binary).
 *
 * A certificate's role and name are carried by a URI SAN, `baton://scheduler` or
 * `baton://worker/<name>`, which is what peers check (`peerIdentity`). The subject repeats
 * them for people: CN = "baton-scheduler" or the worker's name, OU = the role.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createPrivateKey, randomBytes, webcrypto, X509Certificate as NodeX509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';

// The library's types name the DOM's WebCrypto types; Node's are the same objects.
type X509Crypto = Parameters<typeof x509.cryptoProvider.set>[0];
type X509KeyPair = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'];
type X509Key = X509KeyPair['privateKey'];
x509.cryptoProvider.set(webcrypto as unknown as X509Crypto);

export type Role = 'scheduler' | 'worker';

export interface Identity {
  role: Role;
  /** The worker's name (its worker id); "scheduler" for the scheduler. */
  name: string;
}

export interface PemPair {
  cert: string;
  key: string;
}

const EC_KEY = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
/** Names a worker may have (the same rule as worker ids). */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const SCHEDULER_CN = 'baton-scheduler';
export const DEFAULT_CA_DAYS = 3650;
export const DEFAULT_CERT_DAYS = 365;
/** Always in a scheduler's or worker's certificate, so loopback clusters work as is. */
export const LOOPBACK_SANS = { dns: ['localhost'], ips: ['127.0.0.1', '::1'] } as const;

export function identityUri(id: Identity): string {
  return id.role === 'scheduler' ? 'baton://scheduler' : `baton://worker/${id.name}`;
}

export function checkName(name: string): string {
  if (!NAME.test(name)) throw new Error(`"${name}" is not a valid worker name: use up to 64 letters, digits, ".", "_" or "-", starting with a letter or digit`);
  return name;
}

/** Parses the URIs Node reports in `PeerCertificate.subjectaltname` ("DNS:a, IP Address:b, URI:c"). Pure. */
export function identityFromSubjectAltName(subjectaltname: string | undefined): Identity | undefined {
  if (!subjectaltname) return undefined;
  const found: Identity[] = [];
  for (const entry of subjectaltname.split(', ')) {
    if (!entry.startsWith('URI:')) continue;
    const uri = entry.slice(4);
    if (uri === 'baton://scheduler') found.push({ role: 'scheduler', name: 'scheduler' });
    else if (uri.startsWith('baton://worker/') && NAME.test(uri.slice('baton://worker/'.length))) found.push({ role: 'worker', name: uri.slice('baton://worker/'.length) });
  }
  // A certificate naming two Baton identities is not trusted to mean either.
  return found.length === 1 ? found[0] : undefined;
}

/** The Baton identity of a peer's certificate as Node reports it, or undefined for none or an ambiguous one. */
export function peerIdentity(cert: { subjectaltname?: string } | undefined | null): Identity | undefined {
  return identityFromSubjectAltName(cert?.subjectaltname);
}

export function describeIdentity(id: Identity | undefined): string {
  if (!id) return 'no Baton certificate';
  return id.role === 'scheduler' ? "the scheduler's certificate" : `the certificate of worker "${id.name}"`;
}

function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f; // positive
  return bytes.toString('hex');
}

async function exportKey(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function importSigningKey(pem: string): Promise<webcrypto.CryptoKey> {
  const der = createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' });
  return webcrypto.subtle.importKey('pkcs8', der, EC_KEY, false, ['sign']);
}

function validity(days: number): { notBefore: Date; notAfter: Date } {
  if (!Number.isInteger(days) || days <= 0) throw new Error(`validity must be a positive number of days (got ${days})`);
  const now = Date.now();
  // A minute of slack for clocks that disagree a little.
  return { notBefore: new Date(now - 60_000), notAfter: new Date(now + days * DAY_MS) };
}

/** A new self-signed CA. */
export async function createCa(options: { commonName?: string; days?: number } = {}): Promise<PemPair> {
  const keys = (await webcrypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=${options.commonName ?? 'Baton cluster CA'}, O=Baton`,
    ...validity(options.days ?? DEFAULT_CA_DAYS),
    keys: keys as unknown as X509KeyPair,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as unknown as X509Key),
    ],
  });
  return { cert: cert.toString('pem'), key: await exportKey(keys.privateKey) };
}

export interface IssueOptions {
  role: Role;
  /** The worker's name; ignored for the scheduler. */
  name?: string;
  /** Extra DNS names and IP addresses, beside localhost, 127.0.0.1 and ::1. */
  dns?: string[];
  ips?: string[];
  days?: number;
}

/** A certificate for the scheduler or a worker, signed by `ca`, usable as both TLS server and client. */
export async function issueCert(ca: PemPair, options: IssueOptions): Promise<PemPair> {
  const identity: Identity = options.role === 'scheduler' ? { role: 'scheduler', name: 'scheduler' } : { role: 'worker', name: checkName(options.name ?? '') };
  for (const ip of options.ips ?? []) if (isIP(ip) === 0) throw new Error(`not an IP address: "${ip}"`);
  for (const dns of options.dns ?? [])
    if (!/^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(dns)) throw new Error(`not a DNS name: "${dns}"`);
  const dns = unique([...LOOPBACK_SANS.dns, ...(options.dns ?? [])]);
  const ips = unique([...LOOPBACK_SANS.ips, ...(options.ips ?? [])]);

  const caCert = new x509.X509Certificate(ca.cert);
  const caKey = await importSigningKey(ca.key);
  const keys = (await webcrypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cn = identity.role === 'scheduler' ? SCHEDULER_CN : identity.name;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: `CN=${cn}, OU=${identity.role}, O=Baton`,
    issuer: caCert.subject,
    ...validity(options.days ?? DEFAULT_CERT_DAYS),
    publicKey: keys.publicKey as unknown as X509Key,
    signingKey: caKey as unknown as X509Key,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...dns.map((value) => ({ type: 'dns' as const, value })),
        ...ips.map((value) => ({ type: 'ip' as const, value })),
        { type: 'url' as const, value: identityUri(identity) },
      ]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as unknown as X509Key),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
    ],
  });
  return { cert: cert.toString('pem'), key: await exportKey(keys.privateKey) };
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

// ---------------------------------------------------------------------------
// Files in a certificates folder: ca.crt/ca.key, scheduler.crt/.key, worker-<name>.crt/.key

export const DEFAULT_CERTS_DIR = path.join('.baton', 'certs');

export interface CertFiles {
  ca: string;
  cert: string;
  key: string;
}

export function caFiles(dir: string): { cert: string; key: string } {
  return { cert: path.join(dir, 'ca.crt'), key: path.join(dir, 'ca.key') };
}

/** Where `baton certs issue` writes, and where the scheduler and workers look by default. */
export function certFiles(dir: string, id: Identity): CertFiles {
  const base = id.role === 'scheduler' ? 'scheduler' : `worker-${id.name}`;
  return { ca: path.join(dir, 'ca.crt'), cert: path.join(dir, `${base}.crt`), key: path.join(dir, `${base}.key`) };
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

/** Writes through a temporary file and a rename, so a reader (a reload) never sees half a file. */
async function writeAtomic(file: string, text: string, mode: number): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await fs.writeFile(tmp, text, { mode });
  await fs.chmod(tmp, mode); // the umask may have narrowed or the file existed
  await fs.rename(tmp, file);
}

/** Creates the CA in `dir`; refuses to replace one unless `force`. Returns the files written. */
export async function initCaFiles(dir: string, options: { force?: boolean; days?: number } = {}): Promise<string[]> {
  const files = caFiles(dir);
  if (!options.force) {
    for (const f of [files.cert, files.key]) {
      if (await exists(f)) throw new Error(`a CA already exists at ${f}; use --force to replace it (every certificate it signed stops being trusted)`);
    }
  }
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const ca = await createCa({ days: options.days });
  await writeAtomic(files.key, ca.key, 0o600);
  await writeAtomic(files.cert, ca.cert, 0o644);
  return [files.cert, files.key];
}

export async function readCa(dir: string): Promise<PemPair> {
  const files = caFiles(dir);
  try {
    return { cert: await fs.readFile(files.cert, 'utf8'), key: await fs.readFile(files.key, 'utf8') };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new Error(`no CA in ${dir} (${(err as NodeJS.ErrnoException).path}); create one with: baton certs init --dir ${dir}`);
    throw err;
  }
}

/** Issues a certificate signed by the CA in `dir` and writes it beside it (replacing an older one). */
export async function issueCertFiles(dir: string, options: IssueOptions): Promise<CertFiles> {
  const ca = await readCa(dir);
  const pair = await issueCert(ca, options);
  const id: Identity = options.role === 'scheduler' ? { role: 'scheduler', name: 'scheduler' } : { role: 'worker', name: options.name! };
  const files = certFiles(dir, id);
  await writeAtomic(files.key, pair.key, 0o600);
  await writeAtomic(files.cert, pair.cert, 0o644);
  return files;
}

/** The identity a PEM certificate carries (for checking a worker's own certificate at start). */
export function identityOfPem(pem: string): Identity | undefined {
  return identityFromSubjectAltName(new NodeX509Certificate(pem).subjectAltName);
}
