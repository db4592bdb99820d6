import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { addProcessMetrics, isGrpcServerError, isServerError } from '../common/metrics.js';
import { isFinal, JOB_STATES } from './job-state.js';
import { JobTimings } from './job-timings.js';
import type { EventBus } from './events.js';
import type { Registry as WorkerRegistry } from './registry.js';
import type { JobStore } from './store/job-store.js';
import type { WorkerState } from './store/worker-store.js';

/** What the scrape-time gauges read. */
export interface MetricSources {
  jobs: JobStore;
  workers: WorkerRegistry;
  queueDepth: () => number;
  bus: EventBus;
}

const WORKER_STATES: readonly WorkerState[] = ['up', 'down', 'deregistered'];
// Seconds: from a loopback call (sub-millisecond) to a slow store or a wedged worker.
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
// Seconds: from a job placed at once (milliseconds) to one that waited hours for a free worker.
const WAIT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400];
// Seconds: from `true` (milliseconds) to a day-long batch job.
const RUN_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600, 7200, 21600, 86400];

/**
 * The scheduler's Prometheus metrics (`GET /metrics`). Counters and histograms are fed as
 * things happen; gauges (jobs by state, queue depth, workers, heartbeat lag) are read from
 * their sources when scraped, so they cannot drift from the truth. One per scheduler process.
 */
export class SchedulerMetrics {
  readonly registry = new Registry();

  private readonly submitted = new Counter({ name: 'baton_jobs_submitted_total', help: 'Jobs accepted by the API.', registers: [this.registry] });
  private readonly finished = new Counter({
    name: 'baton_jobs_finished_total',
    help: 'Jobs that reached a final state, by state.',
    labelNames: ['state'],
    registers: [this.registry],
  });
  private readonly dispatchLatency = new Histogram({
    name: 'baton_dispatch_latency_seconds',
    help: "From a job's submission to its first attempt starting on a worker.",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 60, 300, 3600],
    registers: [this.registry],
  });
  readonly http = new Histogram({
    name: 'baton_http_request_duration_seconds',
    help: 'HTTP API requests by method, route and status.',
    labelNames: ['method', 'route', 'status'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly queueWait = new Histogram({
    name: 'baton_job_queue_wait_seconds',
    help: "Per attempt: from when it could start (the job submitted, its retry's backoff over, or the jobs it depends on ended) to its process running on a worker.",
    buckets: WAIT_BUCKETS,
    registers: [this.registry],
  });
  private readonly runTime = new Histogram({
    name: 'baton_job_run_seconds',
    help: 'Per attempt: from its process starting to its end, by how it ended (succeeded, failed, stopped, timed_out, lost; a retried attempt by its own end).',
    labelNames: ['outcome'],
    buckets: RUN_BUCKETS,
    registers: [this.registry],
  });
  private readonly httpErrors = new Counter({
    name: 'baton_http_errors_total',
    help: "HTTP API answers with a 5xx status (the scheduler's fault), by route and status; 4xx answers are in baton_http_request_duration_seconds by status.",
    labelNames: ['method', 'route', 'status'],
    registers: [this.registry],
  });
  private readonly grpc = new Histogram({
    name: 'baton_grpc_request_duration_seconds',
    help: 'gRPC calls: served (from workers) and made (to workers), by method and status code.',
    labelNames: ['direction', 'method', 'code'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly grpcErrors = new Counter({
    name: 'baton_grpc_errors_total',
    help: 'gRPC calls that failed for a reason HTTP would answer 5xx for (INTERNAL, UNKNOWN, DATA_LOSS, UNIMPLEMENTED, UNAVAILABLE, DEADLINE_EXCEEDED); every code is in baton_grpc_request_duration_seconds.',
    labelNames: ['direction', 'method', 'code'],
    registers: [this.registry],
  });
  private readonly scheduleFires = new Counter({
    name: 'baton_schedule_fires_total',
    help: 'Schedule ticks that made a job, by outcome: created, or failed (the job could not be created or started; the log says why).',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  private readonly scheduleSkips = new Counter({
    name: 'baton_schedule_overlap_skips_total',
    help: "Schedule ticks not run because the schedule's previous run was still going (overlap skip, or a buffer_one tick already waiting).",
    registers: [this.registry],
  });
  private readonly scheduleMisses = new Counter({
    name: 'baton_schedule_misses_total',
    help: 'Schedule ticks older than their catch-up window when their turn came (no scheduler led then): recorded, not run.',
    registers: [this.registry],
  });
  private readonly fireLag = new Histogram({
    name: 'baton_schedule_fire_lag_seconds',
    help: "From a schedule tick's time to its job created.",
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  private sources: MetricSources | undefined;
  private readonly timings = new JobTimings();

  constructor() {
    const self = this;
    new Gauge({
      name: 'baton_jobs',
      help: 'Jobs by state, as stored.',
      labelNames: ['state'],
      registers: [this.registry],
      async collect() {
        if (!self.sources) return;
        const counts = await self.sources.jobs.countJobsByState();
        for (const state of JOB_STATES) this.set({ state }, counts.get(state) ?? 0);
      },
    });
    new Gauge({
      name: 'baton_queue_depth',
      help: 'Jobs waiting for a worker (retries not yet due included).',
      registers: [this.registry],
      collect() {
        if (self.sources) this.set(self.sources.queueDepth());
      },
    });
    new Gauge({
      name: 'baton_workers',
      help: 'Workers by state; draining ones are counted in their state and again under draining="true".',
      labelNames: ['state', 'draining'],
      registers: [this.registry],
      collect() {
        if (!self.sources) return;
        this.reset();
        const workers = self.sources.workers.list();
        for (const state of WORKER_STATES) {
          this.set({ state, draining: 'false' }, workers.filter((w) => w.state === state && w.drainingBy === '').length);
          this.set({ state, draining: 'true' }, workers.filter((w) => w.state === state && w.drainingBy !== '').length);
        }
      },
    });
    new Gauge({
      name: 'baton_worker_jobs_running',
      help: 'Jobs running on each live worker, as its last heartbeat said (compare baton_worker_capacity).',
      labelNames: ['worker_id'],
      registers: [this.registry],
      collect() {
        if (!self.sources) return;
        this.reset();
        for (const w of self.sources.workers.list()) if (w.state === 'up') this.set({ worker_id: w.id }, w.running);
      },
    });
    new Gauge({
      name: 'baton_worker_capacity',
      help: 'Jobs each live worker takes at once (its --capacity).',
      labelNames: ['worker_id'],
      registers: [this.registry],
      collect() {
        if (!self.sources) return;
        this.reset();
        for (const w of self.sources.workers.list()) if (w.state === 'up') this.set({ worker_id: w.id }, w.capacity);
      },
    });
    new Gauge({
      name: 'baton_worker_heartbeat_lag_seconds',
      help: 'Time since each live worker last sent a heartbeat.',
      labelNames: ['worker_id'],
      registers: [this.registry],
      collect() {
        if (!self.sources) return;
        this.reset();
        const now = Date.now();
        for (const w of self.sources.workers.list()) if (w.state === 'up') this.set({ worker_id: w.id }, (now - w.lastHeartbeatAt) / 1000);
      },
    });
  }

  /** Connects the gauges to their sources and counts submissions and endings from the event bus. */
  attach(sources: MetricSources): void {
    // Once per process: a second scheduler started in the same process (tests) shares them.
    if (this.sources === undefined) addProcessMetrics(this.registry, 'scheduler');
    this.sources = sources;
    sources.bus.on('attempt', (end) => {
      const seconds = this.timings.attemptEnded(end, Date.now());
      if (seconds !== undefined) this.runTime.observe({ outcome: end.outcome }, seconds);
    });
    sources.bus.on('job', (job, previous) => {
      const waited = this.timings.jobChanged(job, previous);
      if (waited !== undefined) this.queueWait.observe(waited);
      if (previous === null) this.submitted.inc();
      // Publishers announce only real changes; `previous` undefined means "not known", not "same".
      if (isFinal(job.state) && previous !== null && (previous === undefined || !isFinal(previous))) this.finished.inc({ state: job.state });
      if (job.state === 'running' && previous !== 'running' && job.attempt === 1) this.dispatchLatency.observe(Math.max(0, Date.now() - job.createdAt) / 1000);
    });
  }

  /** A tick's job created `lagMs` after the tick (or not: `failed`). */
  scheduleFired(outcome: 'created' | 'failed', lagMs?: number): void {
    this.scheduleFires.inc({ outcome });
    if (lagMs !== undefined) this.fireLag.observe(Math.max(0, lagMs) / 1000);
  }

  scheduleSkipped(): void {
    this.scheduleSkips.inc();
  }

  scheduleMissed(count: number): void {
    this.scheduleMisses.inc(count);
  }

  observeHttp(method: string, route: string, status: number, seconds: number): void {
    const labels = { method, route, status: String(status) };
    this.http.observe(labels, seconds);
    if (isServerError(status)) this.httpErrors.inc(labels);
  }

  /** Starts timing a gRPC call; call the result with its status code name when it ends. */
  grpcCall(direction: 'served' | 'made', method: string): (code: string) => void {
    const end = this.grpc.startTimer({ direction, method });
    return (code) => {
      end({ code });
      if (isGrpcServerError(code)) this.grpcErrors.inc({ direction, method, code });
    };
  }
}

/** The scheduler process's metrics: one process, one scheduler. */
export const schedulerMetrics = new SchedulerMetrics();
