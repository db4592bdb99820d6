import type { GrpcSecurity } from '../common/grpc.js';
import { createLogger, type Logger } from '../common/logger.js';
import { isLoopbackHost, joinHostPort, splitHostPort } from '../common/net.js';
import { packageVersion } from '../common/package-root.js';
import { Authenticator } from './auth/authenticator.js';
import { DEFAULT_THROTTLE, FailureThrottle, type ThrottleRule } from './auth/throttle.js';
import { startGrpcServer, stopGrpcServer } from './grpc/server.js';
import { buildApp } from './http/app.js';
import { Dispatcher } from './dispatcher.js';
import { EventLog } from './event-log.js';
import { EventBus } from './events.js';
import { ParentJobs } from './parent-jobs.js';
import { JobService } from './job-service.js';
import { JobStatusApplier } from './job-status.js';
import { OutputCatchUp } from './output-catch-up.js';
import { OutputKeeper } from './output-keeper.js';
import { Retention, type RetentionOptions } from './retention.js';
import { schedulerMetrics } from './metrics.js';
import { PgCluster } from './cluster/pg-cluster.js';
import { Registry } from './registry.js';
import { redact } from './store/connect.js';
import { openStores } from './store/stores.js';
import { ScheduleRunner } from './schedules/runner.js';
import { ScheduleService } from './schedules/service.js';

/** After taking the lead, dispatches the old leader recorded are checked with their workers this much later. */
const TAKEOVER_VERIFY_DELAY_MS = 2_000;

export interface SchedulerOptions {
  /** host:port for the HTTP API; port 0 picks a free one. */
  http: string;
  /** host:port for the gRPC service workers call; port 0 picks a free one. */
  grpc: string;
  /** `sqlite:<file>` or `postgres://…`. */
  store: string;
  bodyLimit: number;
  heartbeatIntervalMs: number;
  heartbeatTtlMs: number;
  /** How long attempts whose worker stopped answering stay `unknown` before they are lost (final). */
  lostAfterMs: number;
  /** Queued jobs beyond this are refused (429) until the queue drains. */
  maxQueued: number;
  /** What is kept, and for how long (default: nothing is ever deleted). */
  retention?: RetentionOptions;
  /** Require API tokens (default true); false is `--no-auth`. */
  auth?: boolean;
  /** When repeated bad tokens from one address are refused (default: 10 a minute). */
  authThrottle?: ThrottleRule;
  /** Proxies whose X-Forwarded-For names the client (addresses or CIDR ranges); default none. */
  trustedProxies?: string[];
  /** Serve the API over HTTPS with this PEM certificate chain and key. */
  https?: { cert: Buffer; key: Buffer };
  /** gRPC with workers: mTLS with the cluster's certificates, or plaintext on loopback. */
  security: GrpcSecurity;
  logger?: Logger;
}

export interface Scheduler {
  /** The addresses actually bound. */
  http: string;
  grpc: string;
  close(): Promise<void>;
}

/**
 * Shared store: what other schedulers stored reaches this one's SSE streams, waiters, worker
 * list and (when leading) queue; taking the lead starts placing and liveness; losing it ends
 * the process, since another scheduler may already lead (a supervisor restarts it as a follower).
 */
function followOtherSchedulers(
  cluster: PgCluster,
  eventLog: EventLog,
  registry: Registry,
  dispatcher: Dispatcher,
  jobs: JobService,
  schedules: ScheduleRunner,
  retention: Retention,
  catchUp: OutputCatchUp,
  log: Logger,
): { queueLoaded(): Promise<void> } {
  let loaded: Promise<void> | undefined;
  cluster.on('eventsStored', () => eventLog.catchUp());
  // The jobs changed elsewhere, gathered over a turn (a batch of events read back) and read in one
  // query; one read after the other, so a later row is never overtaken by an earlier one.
  let changed = new Set<string>();
  let syncing = Promise.resolve();
  const syncChanged = (): void => {
    const ids = [...changed];
    changed = new Set();
    syncing = syncing.then(() => dispatcher.sync(ids).catch((err: unknown) => log.error({ jobs: ids.length, err }, 'cannot take in jobs another scheduler changed')));
  };
  eventLog.on('remote', (e) => {
    if (e.kind === 'worker') {
      void registry.refresh();
      return;
    }
    if (e.kind === 'schedule') {
      schedules.changed(e.entityId);
      return;
    }
    jobs.jobChanged(e.entityId);
    if (changed.size === 0) setImmediate(syncChanged);
    changed.add(e.entityId);
  });
  cluster.on('leading', () => {
    registry.lead();
    retention.start();
    catchUp.start();
    loaded = dispatcher
      .start()
      .then(() => schedules.start())
      // A dispatch the old leader recorded but may not have sent: asked about once the old leader is surely gone.
      .then(() => void setTimeout(() => dispatcher.verifyDispatched(), TAKEOVER_VERIFY_DELAY_MS).unref())
      // Holding the lock with no queue would stall every scheduler: give the lead up by exiting.
      .catch((err: unknown) => stepDown(err, 'cannot load the queue after taking the lead', log));
  });
  cluster.on('leadershipLost', (err) => stepDown(err, 'lost the PostgreSQL session holding the leader lock', log));
  return { queueLoaded: () => loaded ?? Promise.resolve() };
}

/** A leader that cannot go on exits: its session, and the lock, end with it, and another scheduler leads alone. */
function stepDown(err: unknown, what: string, log: Logger): never {
  log.fatal({ err: err instanceof Error ? err.message : String(err) }, `${what}; exiting so that another scheduler leads (restart this one to rejoin as a follower)`);
  process.exit(1);
}

/** Opens the store, then serves gRPC and HTTP; resolves once both listen. */
export async function startScheduler(options: SchedulerOptions): Promise<Scheduler> {
  const log = options.logger ?? createLogger('scheduler');
  if (options.heartbeatTtlMs <= options.heartbeatIntervalMs) {
    throw new Error(`heartbeat TTL (${options.heartbeatTtlMs} ms) must be longer than the heartbeat interval (${options.heartbeatIntervalMs} ms)`);
  }
  const httpAddr = splitHostPort(options.http);
  const grpcAddr = splitHostPort(options.grpc);

  const store = await openStores(options.store, (err) =>
    log.warn({ event: 'store_connection_lost', err: err.message }, 'the database dropped a pooled connection; the next query opens a new one'),
  );
  // On PostgreSQL several schedulers may share the store: one leads (places jobs, judges liveness), all serve.
  const cluster = store.dialect === 'postgres' ? new PgCluster(options.store, log) : undefined;
  // Every job and worker change is announced here: the event log (SSE), /wait and run_on-all parents listen.
  const bus = new EventBus();
  const eventLog = new EventLog(store.events, bus, log, cluster);
  const applier = new JobStatusApplier(store.jobs, bus, log);
  new ParentJobs(store.jobs, applier, bus, log);
  const registry = new Registry(store, applier, bus, options.heartbeatTtlMs, options.lostAfterMs, log, options.security, cluster !== undefined);
  const dispatcher = new Dispatcher(store.jobs, registry, applier, log);
  applier.events = dispatcher;
  registry.events = dispatcher;
  const jobs = new JobService(store.jobs, registry, applier, dispatcher, bus, options.maxQueued, log);
  const keeper = new OutputKeeper(
    store.outputs,
    (workerId) => {
      const worker = registry.get(workerId);
      return worker?.state === 'up' ? worker.channel : undefined;
    },
    jobs.hubs,
    log,
  );
  applier.outputs = keeper;
  jobs.keeper = keeper;
  // Run by the leader (or the only scheduler), as retention is.
  const catchUp = new OutputCatchUp(store.outputs, keeper, () => registry.list().flatMap((w) => (w.state === 'up' && w.channel ? [w.id] : [])), cluster !== undefined, log);
  bus.on('worker', (w) => catchUp.workerChanged(w.id, w.state === 'up'));
  // Pruned by the leader (or the only scheduler).
  const retention = new Retention(store.jobs, store.outputs, options.retention ?? { outputRetentionMs: 0, outputBudgetBytes: 0, jobRetentionMs: 0 }, log);
  const scheduleRunner = new ScheduleRunner(store, jobs, bus, log);
  const authenticator = new Authenticator(store.tokens);
  const authOn = options.auth ?? true;
  schedulerMetrics.attach({ jobs: store.jobs, workers: registry, queueDepth: () => dispatcher.queuedCount, bus });
  const app = await buildApp({
    version: packageVersion(),
    jobs,
    schedules: new ScheduleService(store, scheduleRunner, bus),
    registry,
    store,
    eventLog,
    log,
    bodyLimit: options.bodyLimit,
    auth: { enabled: authOn, authenticator, throttle: new FailureThrottle(options.authThrottle ?? DEFAULT_THROTTLE), trustedProxies: options.trustedProxies ?? [] },
    https: options.https,
  });

  let grpc: Awaited<ReturnType<typeof startGrpcServer>> | undefined;
  try {
    await registry.start();
    if (cluster) {
      await eventLog.start();
      const following = followOtherSchedulers(cluster, eventLog, registry, dispatcher, jobs, scheduleRunner, retention, catchUp, log);
      await cluster.start();
      await following.queueLoaded();
    } else {
      await dispatcher.start();
      await scheduleRunner.start();
      retention.start();
      catchUp.start();
    }
    grpc = await startGrpcServer(options.grpc, registry, options.heartbeatIntervalMs, log, options.security);
    await app.listen({ host: httpAddr.host, port: httpAddr.port });
  } catch (err) {
    await cluster?.close();
    scheduleRunner.close();
    dispatcher.close();
    registry.close();
    if (grpc) grpc.server.forceShutdown();
    await app.close();
    await store.close();
    throw err;
  }
  const address = app.server.address();
  const httpPort = typeof address === 'object' && address ? address.port : httpAddr.port;
  const bound = { http: joinHostPort(httpAddr.host, httpPort), grpc: joinHostPort(grpcAddr.host, grpc.port) };
  const scheme = options.https ? 'https' : 'http';
  log.info({ ...bound, url: `${scheme}://${bound.http}`, auth: authOn, store: redact(options.store), dialect: store.dialect }, 'scheduler ready');
  if (!authOn) {
    // On loopback (`baton dev`) only this machine's users can reach it: worth a line, not an alarm.
    if (isLoopbackHost(httpAddr.host)) log.info('API tokens are off (--no-auth): anyone on this machine can run commands on every worker');
    else log.warn('API tokens are off (--no-auth): anyone who can reach the HTTP API can run commands on every worker');
  } else if ((await authenticator.liveTokens().catch(() => [])).length === 0) {
    log.warn(
      `no API token exists yet, so every call but /healthz answers 401; create one with: baton token create --role admin --name admin (same --data-dir/--store as this scheduler)`,
    );
  }

  const grpcServer = grpc;
  let closing: Promise<void> | undefined;
  return {
    ...bound,
    close() {
      closing ??= (async () => {
        // Stop taking requests first, then drop worker channels, then the store they write to.
        await Promise.all([app.close(), stopGrpcServer(grpcServer, 2_000)]);
        scheduleRunner.close();
        catchUp.close();
        keeper.close();
        retention.close();
        dispatcher.close();
        registry.close();
        await eventLog.flushed();
        await cluster?.close();
        await store.close();
        log.info('scheduler stopped');
      })();
      return closing;
    },
  };
}
