import { EventEmitter } from 'node:events';
import type pg from 'pg';
import type { Logger } from '../../common/logger.js';
import { loadDriver } from '../store/connect.js';

/** pg_advisory_lock key of the leader: "baton" in ASCII, so it is recognisable in pg_locks. */
const LEADER_LOCK_KEY = 0x626174_6f6e;
/** Where schedulers announce newly stored events (the payload is the newest id). */
const EVENTS_CHANNEL = 'baton_events';
/** A follower tries for the leader lock this often; a dead leader's lock is free as soon as PostgreSQL sees its session end. */
const LOCK_RETRY_MS = 1_000;
/** How often the leader checks that its session (and so its lock) is still there. */
const LEADER_CHECK_MS = 1_000;
/** After the session broke, a follower reconnects after this long. */
const RECONNECT_MS = 1_000;

export interface ClusterEventMap {
  /** This scheduler holds the leader lock now. */
  leading: [];
  /** The leader's session broke: its lock is gone, and another scheduler may already lead. */
  leadershipLost: [err: Error];
  /** Another scheduler stored events (or the session reconnected and some may have been missed). */
  eventsStored: [];
}

/**
 * One dedicated PostgreSQL session per scheduler, outside the query pool: it holds the leader
 * lock (a session-level advisory lock, released by PostgreSQL the moment the session ends, so a
 * SIGKILLed leader is replaced within about a second) and LISTENs for other schedulers' events.
 */
export class PgCluster extends EventEmitter<ClusterEventMap> {
  private client: pg.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private leader = false;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly log: Logger,
  ) {
    super();
  }

  get leading(): boolean {
    return this.leader;
  }

  /** Connects, LISTENs and tries for the lock once; resolves after that first try. */
  async start(): Promise<void> {
    await this.connect();
    // The first try is made now, so a scheduler alone on the store leads before it serves.
    await this.tryLock(this.client!).catch((err: unknown) => this.log.warn({ err }, 'cannot try for the leader lock; retrying'));
    this.timer = setTimeout(() => this.tick(), this.leader ? LEADER_CHECK_MS : LOCK_RETRY_MS);
    this.timer.unref();
  }

  /** Tells the other schedulers that events up to `lastId` are stored. Best effort: they also catch up on every reconnect. */
  announce(lastId: number): void {
    this.client
      ?.query('select pg_notify($1, $2)', [EVENTS_CHANNEL, String(lastId)])
      .catch((err: unknown) => this.log.warn({ err }, 'cannot announce stored events to the other schedulers'));
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    // Ending the session releases the lock: another scheduler may lead from its next try.
    await client?.end().catch(() => {});
  }

  private async connect(): Promise<void> {
    const { Client } = await loadDriver('pg', () => import('pg'));
    const client = new Client({ connectionString: this.url, keepAlive: true, keepAliveInitialDelayMillis: 5_000 });
    client.on('error', (err) => this.broken(client, err));
    client.on('end', () => this.broken(client, new Error('the session ended')));
    client.on('notification', () => this.emit('eventsStored'));
    try {
      await client.connect();
      await client.query(`listen ${EVENTS_CHANNEL}`);
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
    this.client = client;
    this.emit('eventsStored');
  }

  private tick(): void {
    if (this.closed) return;
    const client = this.client;
    const step = !client ? this.connect() : this.leader ? client.query('select 1').then(() => {}) : this.tryLock(client);
    step
      .catch((err: unknown) => {
        if (client && client === this.client) this.broken(client, err as Error);
        else this.log.warn({ err }, 'cannot reach PostgreSQL for the leader lock; retrying');
      })
      .finally(() => {
        if (this.closed) return;
        this.timer = setTimeout(() => this.tick(), this.leader ? LEADER_CHECK_MS : this.client ? LOCK_RETRY_MS : RECONNECT_MS);
        this.timer.unref();
      });
  }

  private async tryLock(client: pg.Client): Promise<void> {
    const { rows } = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1) as ok', [LEADER_LOCK_KEY]);
    if (!rows[0]?.ok || this.closed) return;
    this.leader = true;
    this.log.info({ lock: LEADER_LOCK_KEY }, 'this scheduler is the leader now');
    this.emit('leading');
  }

  private broken(client: pg.Client, err: Error): void {
    if (client !== this.client || this.closed) return;
    this.client = undefined;
    client.end().catch(() => {});
    if (this.leader) {
      this.leader = false;
      this.emit('leadershipLost', err);
      return;
    }
    this.log.warn({ err: err.message, retry_in_ms: RECONNECT_MS }, 'lost the PostgreSQL session used for the leader lock and events; reconnecting');
  }
}
