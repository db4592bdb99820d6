import { collectDefaultMetrics, Gauge, type Registry } from 'prom-client';
import { packageVersion } from './package-root.js';

/**
 * What every Baton process exports beside its own figures: prom-client's `process_*` and
 * `nodejs_*` metrics (CPU, memory, open files, event-loop lag, GC) and `baton_build_info`.
 * Called when the process starts serving, not at import: the event-loop monitor runs from then.
 */
export function addProcessMetrics(registry: Registry, component: 'scheduler' | 'worker'): void {
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'baton_build_info',
    help: 'Always 1; the labels say which Baton and which Node.js this process runs.',
    labelNames: ['version', 'node_version', 'component'],
    registers: [registry],
  }).set({ version: packageVersion(), node_version: process.version, component }, 1);
}

/**
 * An HTTP status that counts as an error in `baton_http_errors_total`: the server's fault
 * (5xx). A 4xx is the caller's (a bad body, an unknown job, a missing token); it is in the
 * request histogram by its status, and alerting on it would page for a typo.
 */
export function isServerError(status: number): boolean {
  return status >= 500;
}

/**
 * gRPC status names that count as errors in `baton_grpc_errors_total`: the ones HTTP would
 * answer 5xx for (the gateway mapping: INTERNAL, UNKNOWN, DATA_LOSS 500, UNIMPLEMENTED 501,
 * UNAVAILABLE 503, DEADLINE_EXCEEDED 504). A refused start (INVALID_ARGUMENT), a stop of an
 * ended job (FAILED_PRECONDITION), a full worker (RESOURCE_EXHAUSTED) or a call the caller
 * cancelled are answers, not faults.
 */
const GRPC_SERVER_ERRORS = new Set(['INTERNAL', 'UNKNOWN', 'DATA_LOSS', 'UNIMPLEMENTED', 'UNAVAILABLE', 'DEADLINE_EXCEEDED']);

export function isGrpcServerError(code: string): boolean {
  return GRPC_SERVER_ERRORS.has(code);
}
