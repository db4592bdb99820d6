import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { HealthImplementation } from 'grpc-health-check';
import { ReflectionService } from '@grpc/reflection';
import path from 'node:path';
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
 * Credentials for a gRPC server bound to `address`. Plaintext is allowed only on
 * loopback: anything else needs TLS, which the caller must ask for by name.
 */
export function serverCredentials(address: string): grpc.ServerCredentials {
  requireLoopbackForPlaintext(address, 'listen on');
  return grpc.ServerCredentials.createInsecure();
}

export function clientCredentials(address: string): grpc.ChannelCredentials {
  requireLoopbackForPlaintext(address, 'connect to');
  return grpc.credentials.createInsecure();
}

function requireLoopbackForPlaintext(address: string, verb: string): void {
  const { host } = splitHostPort(address);
  if (!isLoopbackHost(host)) {
    throw new Error(`refusing to ${verb} ${address} without TLS: plaintext gRPC is only allowed on loopback addresses (127.0.0.1, ::1, localhost)`);
  }
}

/** Binds `server` and resolves the port actually bound (useful with port 0). */
export function bindServer(server: grpc.Server, address: string, creds: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, creds, (err, port) => (err ? reject(new Error(`cannot listen on ${address}: ${err.message}`)) : resolve(port)));
  });
}

/** Keepalive settings shared by both sides so a dead peer is noticed within seconds. */
export const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.max_receive_message_length': 16 * 1024 * 1024,
};

export const SERVER_OPTIONS: grpc.ServerOptions = {
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.http2.min_ping_interval_without_data_ms': 5_000,
  'grpc.max_receive_message_length': 16 * 1024 * 1024,
};
