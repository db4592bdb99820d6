import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { HealthImplementation } from 'grpc-health-check';
import { ReflectionService } from '@grpc/reflection';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import path from 'node:path';
import * as tls from 'node:tls';
import { describeIdentity, identityOfPem, peerIdentity, type CertFiles, type Identity } from './certs.js';
import { BatonError } from './errors.js';
import { packageRoot } from './package-root.js';
import { isLoopbackHost, splitHostPort } from './net.js';

const PROTO_FILES = ['baton/v1/common.proto', 'baton/v1/scheduler.proto', 'baton/v1/worker.proto'];

/**
 * Adds the standard gRPC health service and server reflection, so stock tools
 * (grpcurl, grpc_health_probe) work against Baton's servers. `services` are the
 * fully qualified names reported SERVING.
 */
export function addStandardServices(server: grpc.Server, services: string[]): HealthImplementation {
  const health = new HealthImplementation(Object.fromEntries([['', 'SERVING'], ...services.map((s) => [s, 'SERVING'])]));
  health.addToServer(server);
  // Reflection needs descriptors; proto-loader reads the same .proto files the code was generated from.
  const definition = protoLoader.loadSync(PROTO_FILES, { includeDirs: [path.join(packageRoot, 'proto')] });
  new ReflectionService(definition).addToServer(server);
  return health;
}

/**
 * How a process speaks gRPC to its peers: mutual TLS with the cluster's certificates, or
 * plaintext (`--insecure`), which is allowed on loopback addresses only.
 */
export type GrpcSecurity = { kind: 'tls'; tls: TlsMaterial } | { kind: 'insecure' };

/**
 * The TLS settings of every scheduler↔worker connection, both ends: TLS 1.3 only (its
 * cipher suites are all AEAD: OpenSSL's default TLS_AES_256_GCM_SHA384,
 * TLS_CHACHA20_POLY1305_SHA256, TLS_AES_128_GCM_SHA256), key exchange on X25519, P-256 or P-384.
 */
export const TLS_SETTINGS = { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', ecdhCurve: 'X25519:P-256:P-384' } as const satisfies tls.SecureContextOptions;

type Listener = () => void;

/**
 * This process's CA, certificate and key, read from files, and re-read on `reload()`
 * (SIGHUP). Servers built from it take new connections with the new files; open
 * connections and the calls on them are not touched. Client channels built from it use the
 * files current when each connection is made.
 */
export class TlsMaterial {
  private listeners = new Set<Listener>();
  private clientContext: tls.SecureContext;

  private constructor(
    readonly files: CertFiles,
    private pems: { ca: Buffer; cert: Buffer; key: Buffer },
    private own: Identity,
  ) {
    this.clientContext = tls.createSecureContext({ ...this.pems, ...TLS_SETTINGS });
  }

  /** Reads and checks the files: the key must match the certificate, which must carry a Baton identity. */
  static async load(files: CertFiles): Promise<TlsMaterial> {
    const { pems, identity } = await readMaterial(files);
    return new TlsMaterial(files, pems, identity);
  }

  /** The identity this process's own certificate carries. */
  get identity(): Identity {
    return this.own;
  }

  /** Re-reads the files; on any problem keeps the current ones and throws. */
  async reload(): Promise<Identity> {
    const { pems, identity } = await readMaterial(this.files);
    if (identity.role !== this.own.role || identity.name !== this.own.name) {
      throw new Error(`${this.files.cert} now names ${describeIdentity(identity)}, not ${describeIdentity(this.own)}; keeping the old certificate`);
    }
    this.clientContext = tls.createSecureContext({ ...pems, ...TLS_SETTINGS });
    this.pems = pems;
    for (const listener of this.listeners) listener();
    return identity;
  }

  /** Server options for the current files. */
  serverContextOptions(): tls.SecureContextOptions {
    return { ...this.pems, ...TLS_SETTINGS };
  }

  currentClientContext(): tls.SecureContext {
    return this.clientContext;
  }

  onReload(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

async function readMaterial(files: CertFiles): Promise<{ pems: { ca: Buffer; cert: Buffer; key: Buffer }; identity: Identity }> {
  const read = async (what: string, file: string): Promise<Buffer> => {
    try {
      return await readFile(file);
    } catch (err) {
      throw new Error(`cannot read the ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  const pems = { ca: await read('CA certificate', files.ca), cert: await read('certificate', files.cert), key: await read('private key', files.key) };
  try {
    tls.createSecureContext(pems); // the key must match the certificate
  } catch (err) {
    throw new Error(`cannot use ${files.cert} with ${files.key}: ${(err as Error).message}`);
  }
  let identity: Identity | undefined;
  let chained = false;
  try {
    const cert = new X509Certificate(pems.cert);
    identity = identityOfPem(pems.cert.toString('utf8'));
    chained = cert.checkIssued(new X509Certificate(pems.ca)) && cert.verify(new X509Certificate(pems.ca).publicKey);
  } catch (err) {
    throw new Error(`cannot parse ${files.cert} or ${files.ca}: ${(err as Error).message}`);
  }
  if (!identity) throw new Error(`${files.cert} is not a Baton scheduler or worker certificate (no baton:// URI); issue one with: baton certs issue`);
  if (!chained) throw new Error(`${files.cert} is not signed by the CA in ${files.ca}`);
  return { pems, identity };
}

/**
 * Server credentials from TlsMaterial: client certificates required and checked against
 * the CA, TLS 1.3 only. grpc-js' own createSsl cannot set a minimum version, so this
 * subclass hands the TLS options to the HTTP/2 server itself; `updateSecureContextOptions`
 * (grpc-js' hook for certificate providers) swaps in the new files after a reload.
 */
class MutualTlsServerCredentials extends grpc.ServerCredentials {
  constructor(material: TlsMaterial) {
    super({ requestCert: true, rejectUnauthorized: true, ...TLS_SETTINGS }, material.serverContextOptions());
    material.onReload(() => this.updateSecureContextOptions(material.serverContextOptions()));
  }

  override _equals(other: grpc.ServerCredentials): boolean {
    return other === this;
  }
}

/**
 * Channel credentials from TlsMaterial that check the server is `expected`: the CA signed
 * its certificate, the certificate carries the dialled host (DNS or IP SAN), and it names
 * the expected role and worker. Every new connection uses the files current at that moment.
 */
class MutualTlsChannelCredentials extends grpc.ChannelCredentials {
  private readonly verify: grpc.VerifyOptions;

  constructor(
    private readonly material: TlsMaterial,
    host: string,
    expected: Identity,
  ) {
    super();
    this.verify = {
      checkServerIdentity: (_servername, cert) => {
        const hostError = tls.checkServerIdentity(host, cert);
        if (hostError) return hostError;
        const peer = peerIdentity(cert);
        if (!peer || peer.role !== expected.role || peer.name !== expected.name) {
          return new Error(`the server at ${host} presented ${describeIdentity(peer)}, not ${describeIdentity(expected)}`);
        }
        return undefined;
      },
    };
    // grpc-js sends the host as SNI; an IP address there is against RFC 6066 and makes Node warn.
    this.sni = isIP(host) === 0 ? undefined : 'localhost';
  }

  private readonly sni: string | undefined;

  override _isSecure(): boolean {
    return true;
  }

  override _equals(other: grpc.ChannelCredentials): boolean {
    return other === this;
  }

  override _createSecureConnector(target: grpc.experimental.GrpcUri, options: grpc.ChannelOptions, callCredentials?: grpc.CallCredentials): grpc.experimental.SecureConnector {
    const calls = callCredentials ?? grpc.CallCredentials.createEmpty();
    const connectOptions = this.sni ? { ...options, 'grpc.ssl_target_name_override': this.sni } : options;
    return {
      connect: (socket) =>
        grpc.credentials.createFromSecureContext(this.material.currentClientContext(), this.verify)._createSecureConnector(target, connectOptions, calls).connect(socket),
      waitForReady: () => Promise.resolve(),
      getCallCredentials: () => calls,
      destroy: () => undefined,
    };
  }
}

/**
 * Credentials for a gRPC server bound to `address`. Plaintext is allowed only on
 * loopback: anything else needs TLS.
 */
export function serverCredentials(address: string, security: GrpcSecurity): grpc.ServerCredentials {
  if (security.kind === 'tls') return new MutualTlsServerCredentials(security.tls);
  requireLoopbackForPlaintext(address, 'listen on');
  return grpc.ServerCredentials.createInsecure();
}

/** Credentials for dialling `address`, whose server must present the certificate of `expected`. */
export function clientCredentials(address: string, security: GrpcSecurity, expected: Identity): grpc.ChannelCredentials {
  if (security.kind === 'tls') return new MutualTlsChannelCredentials(security.tls, splitHostPort(address).host, expected);
  requireLoopbackForPlaintext(address, 'connect to');
  return grpc.credentials.createInsecure();
}

export function requireLoopbackForPlaintext(address: string, verb: string): void {
  const { host } = splitHostPort(address);
  if (!isLoopbackHost(host)) {
    throw new Error(`refusing to ${verb} ${address} without TLS: plaintext gRPC (--insecure) is only allowed on loopback addresses (127.0.0.1, ::1, localhost)`);
  }
}

export interface HasAuthContext {
  getAuthContext(): { sslPeerCertificate?: tls.PeerCertificate };
}

/** The Baton identity in the certificate of the client making `call`; undefined without TLS or a Baton certificate. */
export function callerIdentity(call: HasAuthContext): Identity | undefined {
  return peerIdentity(call.getAuthContext().sslPeerCertificate);
}

/**
 * The check every worker-scoped scheduler call makes: under TLS, only the certificate of
 * worker `workerId` may speak for it. Returns the refusal, or undefined when allowed.
 */
export function workerCallerProblem(call: HasAuthContext, security: GrpcSecurity, workerId: string): BatonError | undefined {
  if (security.kind !== 'tls') return undefined;
  const caller = callerIdentity(call);
  if (caller?.role === 'worker' && caller.name === workerId) return undefined;
  return new BatonError('FORBIDDEN', `calls for worker "${workerId}" require that worker's certificate; the caller presented ${describeIdentity(caller)}`);
}

/**
 * A server interceptor refusing every method of `service` (e.g. "baton.v1.WorkerService")
 * unless the caller's certificate has `role`. Other services (health, reflection) stay
 * open to any client the TLS layer accepted.
 */
export function requireRoleInterceptor(service: string, role: Identity['role']): grpc.ServerInterceptor {
  const prefix = `/${service}/`;
  return (method, call) => {
    if (!method.path.startsWith(prefix)) return new grpc.ServerInterceptingCall(call);
    const caller = callerIdentity(call);
    if (caller?.role === role) return new grpc.ServerInterceptingCall(call);
    return new grpc.ServerInterceptingCall(call, {
      start: () => {
        call.sendStatus({
          code: grpc.status.PERMISSION_DENIED,
          details: `${method.path} requires the ${role}'s certificate; the caller presented ${describeIdentity(caller)}`,
          metadata: new grpc.Metadata(),
        });
      },
    });
  };
}

/** Binds `server` and resolves the port actually bound (useful with port 0). */
export function bindServer(server: grpc.Server, address: string, creds: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, creds, (err, port) => (err ? reject(new Error(`cannot listen on ${address}: ${err.message}`)) : resolve(port)));
  });
}

/** The largest message either side accepts. */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** Keepalive settings shared by both sides so a dead peer is noticed within seconds. */
export const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  // grpc-js waits up to 120 s between reconnection attempts by default: a restarted peer would
  // go unnoticed that long. Peers here are a few hops away; trying every 2 s at most is cheap.
  'grpc.initial_reconnect_backoff_ms': 250,
  'grpc.max_reconnect_backoff_ms': 2_000,
  // Channelz (per-call statistics for a debugging service we do not serve) costs CPU on every call.
  'grpc.enable_channelz': 0,
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
};

export const SERVER_OPTIONS: grpc.ServerOptions = {
  'grpc.enable_channelz': 0,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.http2.min_ping_interval_without_data_ms': 5_000,
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
};

export const SCHEDULER_IDENTITY: Identity = { role: 'scheduler', name: 'scheduler' };

/**
 * The worker id to use under `security`: with TLS it is the name in the worker's
 * certificate, and an explicit id (--id) must agree with it. Without TLS, `explicit`.
 */
export function certifiedWorkerId(security: GrpcSecurity, explicit: string | undefined): string | undefined {
  if (security.kind !== 'tls') return explicit;
  const own = security.tls.identity;
  if (own.role !== 'worker') throw new Error(`${security.tls.files.cert} is ${describeIdentity(own)}; a worker needs a worker certificate (baton certs issue worker NAME)`);
  if (explicit !== undefined && explicit !== '' && explicit !== own.name) {
    throw new Error(`worker id "${explicit}" does not match its certificate ${security.tls.files.cert}, issued for worker "${own.name}"`);
  }
  return own.name;
}

/** The interceptors of a worker's server: under TLS, `service` answers only the scheduler's certificate. */
export function schedulerOnlyInterceptors(security: GrpcSecurity, service: string): grpc.ServerInterceptor[] {
  return security.kind === 'tls' ? [requireRoleInterceptor(service, 'scheduler')] : [];
}
