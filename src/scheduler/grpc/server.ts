import * as grpc from '@grpc/grpc-js';
import { addStandardServices, bindServer, SERVER_OPTIONS, serverCredentials, workerCallerProblem, type GrpcSecurity, type HasAuthContext } from '../../common/grpc.js';
import { BatonError, toGrpcError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { SchedulerServiceService, type HeartbeatRequest, type HeartbeatsRequest, type HeartbeatsResponse, type SchedulerServiceServer } from '../../gen/baton/v1/scheduler.js';
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
function schedulerService(registry: Registry, heartbeatIntervalMs: number, log: Logger, security: GrpcSecurity, heartbeatStreams: Set<HeartbeatCall>): SchedulerServiceServer {
  // Under TLS a worker speaks only for itself: the worker id must be the one its certificate names.
  const refused = (call: HasAuthContext & { getPeer(): string }, workerId: string, method: string): BatonError | undefined => {
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
      if (!registry.deregister(workerId)) return callback(toGrpcError(new BatonError('WORKER_NOT_FOUND', `worker "${workerId}" is not registered`)));
      callback(null, {});
    },
    heartbeat(call, callback) {
      const problem = beat(call, call.request, 'Heartbeat');
      callback(problem ? toGrpcError(problem) : null, problem ? null : {});
    },
    heartbeats(call) {
      heartbeatStreams.add(call);
      call.once('close', () => heartbeatStreams.delete(call));
      // The caller's certificate cannot change within a stream: a worker id it was allowed once stays allowed.
      let allowed = '';
      call.on('data', (request: HeartbeatsRequest) => {
        if (call.cancelled) return; // the worker is gone: nobody to answer
        const problem = request.workerId !== '' && request.workerId === allowed ? live(request) : beat(call, request, 'Heartbeats');
        if (problem) {
          call.removeAllListeners('data');
          call.emit('error', toGrpcError(problem));
          return;
        }
        allowed = request.workerId;
        call.write({});
      });
      call.on('end', () => call.end());
      // Cancelled (not ended by the worker): its process or connection is gone. Noticed now, not at the TTL.
      call.on('cancelled', () => {
        if (allowed !== '') registry.heartbeatStreamBroke(allowed);
      });
    },
  };
  /** One heartbeat: the refusal, or undefined when taken. */
  function beat(call: Parameters<typeof refused>[0], request: HeartbeatRequest, method: string): BatonError | undefined {
    if (!request.workerId) return new BatonError('BAD_REQUEST', 'worker_id must not be empty');
    return refused(call, request.workerId, method) ?? live(request);
  }
  function live({ workerId, running, draining }: HeartbeatRequest): BatonError | undefined {
    if (registry.heartbeat(workerId, running, draining)) return undefined;
    return new BatonError('WORKER_NOT_FOUND', `worker "${workerId}" is not registered; register again`);
  }
  return {
    registerWorker: timed('RegisterWorker', service.registerWorker),
    deregisterWorker: timed('DeregisterWorker', service.deregisterWorker),
    heartbeat: timed('Heartbeat', service.heartbeat),
    heartbeats: service.heartbeats,
  };
}

type HeartbeatCall = grpc.ServerDuplexStream<HeartbeatsRequest, HeartbeatsResponse>;

export interface GrpcServer {
  server: grpc.Server;
  port: number;
  /** Open Heartbeats streams: they never end by themselves, so shutting down ends them. */
  heartbeatStreams: Set<HeartbeatCall>;
}

export async function startGrpcServer(address: string, registry: Registry, heartbeatIntervalMs: number, log: Logger, security: GrpcSecurity): Promise<GrpcServer> {
  const server = new grpc.Server(SERVER_OPTIONS);
  const heartbeatStreams = new Set<HeartbeatCall>();
  server.addService(SchedulerServiceService, schedulerService(registry, heartbeatIntervalMs, log, security, heartbeatStreams));
  addStandardServices(server, ['baton.v1.SchedulerService']);
  const port = await bindServer(server, address, serverCredentials(address, security));
  return { server, port, heartbeatStreams };
}

/**
 * Graceful shutdown, forced after `timeoutMs` so a stuck call cannot hold the process. The
 * workers' heartbeat streams end at once with UNAVAILABLE (they would otherwise hold it to the
 * end): their workers then beat again, on the next scheduler of their list or this one restarted.
 */
export function stopGrpcServer({ server, heartbeatStreams }: GrpcServer, timeoutMs: number): Promise<void> {
  for (const call of heartbeatStreams) call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'the scheduler is shutting down' });
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
