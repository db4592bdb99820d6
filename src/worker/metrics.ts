import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { errorBody } from '../common/errors.js';
import { addProcessMetrics } from '../common/metrics.js';
import { joinHostPort, splitHostPort } from '../common/net.js';
import { JobState } from '../gen/baton/v1/common.js';
import { isFinalState, stateName } from './exit-status.js';
import type { JobTable } from './job-table.js';

// Seconds: from `true` (milliseconds) to a day-long batch job (the scheduler's baton_job_run_seconds has the same).
const RUN_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600, 7200, 21600, 86400];

/** What the scrape-time gauges read. */
export interface WorkerMetricSources {
  activeJobs: () => number;
  registered: () => boolean;
  /** StreamJob calls open now. */
  outputStreams: () => number;
}

/**
 * A worker's own Prometheus metrics, served on its opt-in `--metrics` address: what it runs,
 * how its jobs end, its link to the scheduler, and its process. Every series carries
 * `worker_id`, so they join the scheduler's per-worker series (`baton_worker_jobs_running`).
 */
export class WorkerMetrics {
  readonly registry = new Registry();
  private readonly started: Counter;
  private readonly ended: Counter;
  private readonly runTime: Histogram;
  private readonly heartbeatFailures: Counter;

  constructor(workerId: string, sources: WorkerMetricSources) {
    this.registry.setDefaultLabels({ worker_id: workerId });
    const registers = [this.registry];
    this.started = new Counter({ name: 'baton_worker_jobs_started_total', help: "Job processes this worker started (a restarted worker's adopted jobs not included).", registers });
    this.ended = new Counter({ name: 'baton_worker_jobs_ended_total', help: 'Jobs that ended on this worker, by state.', labelNames: ['state'], registers });
    this.runTime = new Histogram({
      name: 'baton_worker_job_run_seconds',
      help: 'From a job process starting to its end, as this worker timed it, by state.',
      labelNames: ['state'],
      buckets: RUN_BUCKETS,
      registers,
    });
    this.heartbeatFailures = new Counter({
      name: 'baton_worker_heartbeat_failures_total',
      help: 'Heartbeats to the scheduler that failed or went unanswered (the scheduler marks the worker down after --heartbeat-ttl of them).',
      registers,
    });
    new Gauge({
      name: 'baton_worker_jobs_active',
      help: 'Jobs this worker runs now, as it counts them (what its next heartbeat reports).',
      registers,
      collect() {
        this.set(sources.activeJobs());
      },
    });
    new Gauge({
      name: 'baton_worker_registered',
      help: '1 while the worker is registered with a scheduler and heartbeating, 0 while it is trying to.',
      registers,
      collect() {
        this.set(sources.registered() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'baton_worker_output_streams',
      help: "Job output streams (StreamJob calls) this worker serves now: one per followed job however many read it through the scheduler, plus each reader catching up on its own and each copy into the scheduler's store.",
      registers,
      collect() {
        this.set(sources.outputStreams());
      },
    });
    addProcessMetrics(this.registry, 'worker');
  }

  /** Counts starts and ends from the job table's changes. */
  watch(table: JobTable): void {
    table.subscribe(({ status, previousState }) => {
      if (status.state === previousState) return;
      if (status.state === JobState.JOB_STATE_RUNNING && previousState !== undefined) this.started.inc();
      if (!isFinalState(status.state)) return;
      const state = stateName(status.state);
      this.ended.inc({ state });
      if (status.startedAtMs > 0 && status.finishedAtMs >= status.startedAtMs) this.runTime.observe({ state }, (status.finishedAtMs - status.startedAtMs) / 1000);
    });
  }

  heartbeat(ok: boolean): void {
    if (!ok) this.heartbeatFailures.inc();
  }
}

/**
 * Serves `GET /metrics` on `listen` (plain HTTP, no token: bind it where only the Prometheus
 * server reaches it). Resolves with the address bound once it listens.
 */
export async function serveMetrics(registry: Registry, listen: string): Promise<{ address: string; close: () => Promise<void> }> {
  const { host, port } = splitHostPort(listen);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify(errorBody('NOT_FOUND', `no route for ${req.method} ${path}: this port serves GET /metrics only`)));
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
      (err: unknown) => res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify(errorBody('INTERNAL', `cannot collect the metrics: ${String(err)}`))),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    address: joinHostPort(host, bound),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
