import * as grpc from '@grpc/grpc-js';
import { addStandardServices, bindServer, SERVER_OPTIONS, serverCredentials, workerCallerProblem, type GrpcSecurity } from '../../common/grpc.js';
import { BatonError, toGrpcError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { SchedulerServiceService, type SchedulerServiceServer } from '../../gen/baton/v1/scheduler.js';
import { schedulerMetrics } from '../metrics.js';
import type { Registry } from '../registry.js';

/** A unary handler timed into /metrics, by method and status code. */
function timed<Req, Res>(method: string, handler: grpc.handleUnaryCall<Req, Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const end = schedulerMetrics.grpcCall('served', method);
    handler(call, (err, value) => {
      end(err ? (grpc.status[err.code ?? grpc.status.UNKNOWN] ?? 'UNKNOWN') : 'OK');
      callback(err, value);
    });
  };
}

/** SchedulerService: workers register, heartbeat and deregister here. */
function schedulerService(registry: Registry, heartbeatIntervalMs: number, log: Logger, security: GrpcSecurity): SchedulerServiceServer {
  // Under TLS a worker speaks only for itself: the worker id must be the one its certificate names.
  const refused = (call: grpc.ServerUnaryCall<unknown, unknown>, workerId: string, method: string): Error | undefined => {
    const problem = workerCallerProblem(call, security, workerId);
    if (problem) log.warn({ worker_id: workerId, method, peer: call.getPeer(), reason: problem.message }, 'worker call refused');
    return problem;
  };
  const service: SchedulerServiceServer = {
    registerWorker(call, callback) {
      const problem = refused(call, call.request.workerId, 'RegisterWorker');
      if (problem) return callback(toGrpcError(problem));
      registry.register(call.request).then(
        () => callback(null, { heartbeatIntervalMs }),
        (err: unknown) => {
          if (!(err instanceof BatonError)) log.error({ err, worker_id: call.request.workerId }, 'RegisterWorker failed');
          callback(toGrpcError(err));
        },
      );
    },
    deregisterWorker(call, callback) {
      const { workerId } = call.request;
      if (!workerId) return callback(toGrpcError(new BatonError('BAD_REQUEST', 'worker_id must not be empty')));
      const problem = refused(call, workerId, 'DeregisterWorker');
      if (problem) return callback(toGrpcError(problem));
      if (!registry.deregister(workerId)) return callback(toGrpcError(new BatonError('NOT_FOUND', `worker "${workerId}" is not registered`)));
      callback(null, {});
    },
    heartbeat(call, callback) {
      const { workerId, running, draining } = call.request;
      if (!workerId) return callback(toGrpcError(new BatonError('BAD_REQUEST', 'worker_id must not be empty')));
      const problem = refused(call, workerId, 'Heartbeat');
      if (problem) return callback(toGrpcError(problem));
      if (!registry.heartbeat(workerId, running, draining)) {
        return callback(toGrpcError(new BatonError('NOT_FOUND', `worker "${workerId}" is not registered; register again`)));
      }
      callback(null, {});
    },
  };
  return {
    registerWorker: timed('RegisterWorker', service.registerWorker),
    deregisterWorker: timed('DeregisterWorker', service.deregisterWorker),
    heartbeat: timed('Heartbeat', service.heartbeat),
  };
}

export interface GrpcServer {
  server: grpc.Server;
  port: number;
}

export async function startGrpcServer(address: string, registry: Registry, heartbeatIntervalMs: number, log: Logger, security: GrpcSecurity): Promise<GrpcServer> {
  const server = new grpc.Server(SERVER_OPTIONS);
  server.addService(SchedulerServiceService, schedulerService(registry, heartbeatIntervalMs, log, security));
  addStandardServices(server, ['baton.v1.SchedulerService']);
  const port = await bindServer(server, address, serverCredentials(address, security));
  return { server, port };
}

/** Graceful shutdown, forced after `timeoutMs` so a stuck call cannot hold the process. */
export function stopGrpcServer(server: grpc.Server, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, timeoutMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
