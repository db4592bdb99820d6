import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  certFiles,
  checkName,
  DEFAULT_CA_DAYS,
  DEFAULT_CERT_DAYS,
  DEFAULT_CERTS_DIR,
  describeIdentity,
  initCaFiles,
  issueCertFiles,
  type CertFiles,
  type Identity,
  type Role,
} from '../common/certs.js';
import { requireLoopbackForPlaintext, TlsMaterial, type GrpcSecurity } from '../common/grpc.js';
import type { Logger } from '../common/logger.js';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function positiveDays(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`not a positive whole number of days: "${text}"`);
  return n;
}

const dirOption = (): Option => new Option('--dir <dir>', 'certificates folder').env('BATON_CERTS_DIR').default(DEFAULT_CERTS_DIR);

/** `baton certs init` and `baton certs issue scheduler|worker NAME`. */
export function certsCommand(): Command {
  const certs = new Command('certs').description("create the cluster's CA and the certificates the scheduler and workers use for mutual TLS").addHelpText(
    'after',
    `
Files in the folder (default ${DEFAULT_CERTS_DIR}):
  ca.crt, ca.key                  the cluster CA (keep ca.key private; only "certs issue" needs it)
  scheduler.crt, scheduler.key    the scheduler's certificate (SAN URI baton://scheduler)
  worker-NAME.crt, worker-NAME.key  worker NAME's certificate (SAN URI baton://worker/NAME)

Keys are ECDSA P-256 (mode 0600), signatures ECDSA-SHA256. Every certificate carries
localhost, 127.0.0.1 and ::1; add the names and addresses peers dial with --dns and --ip.

Example:
  baton certs init && baton certs issue scheduler && baton certs issue worker w-1
  baton scheduler & baton worker --id w-1`,
  );

  certs
    .command('init')
    .description('create the cluster CA (ca.crt, ca.key); refuses to replace an existing one without --force')
    .addOption(dirOption())
    .option('--force', 'replace an existing CA (certificates it signed stop being trusted)', false)
    .addOption(new Option('--days <n>', 'validity').default(DEFAULT_CA_DAYS).argParser(positiveDays))
    .action(async (opts: { dir: string; force: boolean; days: number }) => {
      const written = await initCaFiles(opts.dir, { force: opts.force, days: opts.days });
      console.log(`baton certs: created the cluster CA, valid ${opts.days} days:\n${written.map((f) => `  ${f}`).join('\n')}`);
      console.log(`next: baton certs issue scheduler --dir ${opts.dir} && baton certs issue worker NAME --dir ${opts.dir}`);
    });

  const issue = certs.command('issue').description('issue a certificate signed by the cluster CA: "issue scheduler" or "issue worker NAME"');
  const issueOptions = (command: Command): Command =>
    command
      .addOption(dirOption())
      .option('--dns <name>', 'an extra DNS name peers use to reach it, repeatable', collect, [])
      .option('--ip <address>', 'an extra IP address peers use to reach it, repeatable', collect, [])
      .addOption(new Option('--days <n>', 'validity').default(DEFAULT_CERT_DAYS).argParser(positiveDays));

  const report = (what: string, files: CertFiles, days: number, dns: string[], ips: string[]): void => {
    const sans = ['localhost', '127.0.0.1', '::1', ...dns, ...ips].join(', ');
    console.log(`baton certs: issued ${what}, valid ${days} days, for ${sans}:\n  ${files.cert}\n  ${files.key}`);
  };

  issueOptions(issue.command('scheduler').description("the scheduler's certificate (scheduler.crt, scheduler.key)")).action(
    async (opts: { dir: string; dns: string[]; ip: string[]; days: number }) => {
      const files = await issueCertFiles(opts.dir, { role: 'scheduler', dns: opts.dns, ips: opts.ip, days: opts.days });
      report("the scheduler's certificate", files, opts.days, opts.dns, opts.ip);
    },
  );
  issueOptions(issue.command('worker').description("a worker's certificate (worker-NAME.crt, worker-NAME.key); NAME is the worker id").argument('<name>', 'the worker id')).action(
    async (name: string, opts: { dir: string; dns: string[]; ip: string[]; days: number }) => {
      checkName(name);
      const files = await issueCertFiles(opts.dir, { role: 'worker', name, dns: opts.dns, ips: opts.ip, days: opts.days });
      report(`worker ${name}'s certificate`, files, opts.days, opts.dns, opts.ip);
    },
  );
  return certs;
}

// ---------------------------------------------------------------------------
// --tls-* and --insecure on `baton scheduler` and `baton worker`

export interface TlsFlags {
  certsDir: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  insecure: boolean;
}

/** Adds --certs-dir, --tls-ca, --tls-cert, --tls-key and --insecure to a command. */
export function addTlsOptions(command: Command, role: Role): Command {
  const base = role === 'scheduler' ? 'scheduler' : 'worker-<id>';
  return command
    .addOption(new Option('--certs-dir <dir>', 'where the default certificate files are').env('BATON_CERTS_DIR').default(DEFAULT_CERTS_DIR))
    .addOption(new Option('--tls-ca <file>', 'PEM CA certificate peers must be signed by (default: <certs-dir>/ca.crt)').env('BATON_TLS_CA'))
    .addOption(new Option('--tls-cert <file>', `PEM certificate of this ${role} (default: <certs-dir>/${base}.crt)`).env('BATON_TLS_CERT'))
    .addOption(new Option('--tls-key <file>', `PEM private key of --tls-cert (default: <certs-dir>/${base}.key)`).env('BATON_TLS_KEY'))
    .addOption(new Option('--insecure', 'plaintext gRPC without certificates; refused unless every gRPC address is loopback').default(false));
}

/**
 * Resolves the gRPC security a scheduler or worker runs with. `addresses` are the gRPC
 * addresses it listens on and dials (plaintext is refused for any that is not loopback);
 * `workerId` picks the worker's default certificate files.
 */
export async function resolveSecurity(flags: TlsFlags, role: Role, addresses: string[], workerId?: string): Promise<GrpcSecurity> {
  const given = (['tlsCa', 'tlsCert', 'tlsKey'] as const).filter((k) => flags[k] !== undefined);
  if (flags.insecure) {
    if (given.length > 0) throw new Error('--insecure and --tls-ca/--tls-cert/--tls-key exclude each other');
    for (const address of addresses) requireLoopbackForPlaintext(address, role === 'scheduler' ? 'serve gRPC on' : 'use');
    return { kind: 'insecure' };
  }
  if (role === 'worker' && workerId === undefined && (flags.tlsCert === undefined || flags.tlsKey === undefined)) {
    throw new Error(`which certificate is this worker's? pass --id NAME (uses ${path.join(flags.certsDir, 'worker-NAME.crt')}) or --tls-cert and --tls-key`);
  }
  const defaults = certFiles(flags.certsDir, role === 'scheduler' ? { role, name: 'scheduler' } : { role, name: workerId ?? '' });
  const files: CertFiles = { ca: flags.tlsCa ?? defaults.ca, cert: flags.tlsCert ?? defaults.cert, key: flags.tlsKey ?? defaults.key };
  const missing = [files.ca, files.cert, files.key].filter((f) => !existsSync(f));
  if (missing.length > 0) {
    const issue = role === 'scheduler' ? 'baton certs issue scheduler' : `baton certs issue worker ${workerId ?? 'NAME'}`;
    const dir = flags.certsDir === DEFAULT_CERTS_DIR ? '' : ` --dir ${flags.certsDir}`;
    throw new Error(
      `no TLS certificate for this ${role}: ${missing.join(', ')} not found. Create them with \`baton certs init${dir} && ${issue}${dir}\` ` +
        `(or point --tls-ca/--tls-cert/--tls-key at yours, or use --insecure on loopback)`,
    );
  }
  const material = await TlsMaterial.load(files);
  if (material.identity.role !== role) throw new Error(`${files.cert} is ${describeIdentity(material.identity)}, not a ${role} certificate`);
  return { kind: 'tls', tls: material };
}

/** SIGHUP re-reads the certificate files; connections and calls already open carry on. */
export function reloadCertificatesOnSighup(security: GrpcSecurity, log: Logger): void {
  process.on('SIGHUP', () => {
    if (security.kind !== 'tls') {
      log.info('SIGHUP: running with --insecure, no certificates to reload');
      return;
    }
    const { files } = security.tls;
    security.tls.reload().then(
      () => log.info({ cert: files.cert, ca: files.ca }, 'TLS certificates reloaded; new connections use them'),
      (err: unknown) => log.error({ cert: files.cert, error: (err as Error).message }, 'TLS certificate reload failed; keeping the current certificates'),
    );
  });
}

/** The worker id kept in `<dataDir>/worker-id`, if any (to pick the default certificate). */
export function storedWorkerId(dataDir: string): string | undefined {
  try {
    return readFileSync(path.join(dataDir, 'worker-id'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * `baton dev`'s certificates: a CA, the scheduler's and one per worker in `dir`, created
 * when missing and reused after. `host` (the gRPC host) is added to the SANs when it is
 * not already covered. Returns the files written this time.
 */
export async function ensureDevCerts(dir: string, workerNames: string[], host: string): Promise<string[]> {
  const written: string[] = [];
  if (!existsSync(path.join(dir, 'ca.crt'))) written.push(...(await initCaFiles(dir)));
  const extra = ['localhost', '127.0.0.1', '::1'].includes(host) ? {} : isIP(host) ? { ips: [host] } : { dns: [host] };
  const ids = [{ role: 'scheduler' as const, name: 'scheduler' }, ...workerNames.map((name) => ({ role: 'worker' as const, name }))];
  for (const id of ids) {
    if (existsSync(certFiles(dir, id).cert)) continue;
    const files = await issueCertFiles(dir, { ...id, ...extra });
    written.push(files.cert, files.key);
  }
  return written;
}

/** The --tls-* flags that point a scheduler or worker at its files in `dir`. */
export function tlsArgs(dir: string, id: Identity): string[] {
  const files = certFiles(dir, id);
  return ['--tls-ca', files.ca, '--tls-cert', files.cert, '--tls-key', files.key];
}
