import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { Dialect } from './connect.js';

/**
 * Versioned migrations, in code so the built package needs no migration folder.
 * Names sort in the order they apply; never edit one that has shipped, add the next.
 */
function migrations(dialect: Dialect): Record<string, Migration> {
  return {
    '001_initial': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('workers')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('address', 'text', (c) => c.notNull())
          .addColumn('labels', 'text', (c) => c.notNull().defaultTo('{}'))
          .addColumn('capacity', 'integer', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('last_heartbeat_at', 'bigint', (c) => c.notNull())
          .addColumn('registered_at', 'bigint', (c) => c.notNull())
          .addColumn('version', 'text', (c) => c.notNull().defaultTo(''))
          .execute();

        await db.schema
          .createTable('jobs')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('worker_id', 'text', (c) => c.notNull())
          .addColumn('command', 'text', (c) => c.notNull())
          .addColumn('path', 'text', (c) => c.notNull())
          .addColumn('args', 'text', (c) => c.notNull())
          .addColumn('env', 'text', (c) => c.notNull())
          .addColumn('cwd', 'text', (c) => c.notNull())
          .addColumn('error', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('exit_code', 'integer')
          .addColumn('signal', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('output_truncated', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addColumn('finished_at', 'bigint')
          .execute();
        // The listing filters: newest first within a state or a worker.
        await db.schema.createIndex('jobs_state_id').on('jobs').columns(['state', 'id']).execute();
        await db.schema.createIndex('jobs_worker_id_id').on('jobs').columns(['worker_id', 'id']).execute();

        await db.schema
          .createTable('attempts')
          .addColumn('job_id', 'text', (c) => c.notNull().references('jobs.id').onDelete('cascade'))
          .addColumn('number', 'integer', (c) => c.notNull())
          .addColumn('worker_id', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('exit_code', 'integer')
          .addColumn('signal', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('error', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('started_at', 'bigint')
          .addColumn('finished_at', 'bigint')
          .addPrimaryKeyConstraint('attempts_pk', ['job_id', 'number'])
          .execute();
      },
    },
    '002_tokens_and_authors': {
      async up(db: Kysely<unknown>): Promise<void> {
        // API tokens: only the SHA-256 of each secret is kept. A name is unique among live tokens, so
        // a revoked name can be issued again.
        await db.schema
          .createTable('tokens')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('role', 'text', (c) => c.notNull())
          .addColumn('hash', 'text', (c) => c.notNull().unique())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('revoked_at', 'bigint')
          .execute();
        await db.schema.createIndex('tokens_live_name').on('tokens').column('name').unique().where(sql.ref('revoked_at'), 'is', null).execute();

        // Who submitted and who stopped each job: a token name, or "anonymous" when the API runs without tokens.
        await db.schema
          .alterTable('jobs')
          .addColumn('submitted_by', 'text', (c) => c.notNull().defaultTo(''))
          .execute();
        await db.schema
          .alterTable('jobs')
          .addColumn('stopped_by', 'text', (c) => c.notNull().defaultTo(''))
          .execute();
      },
    },
    '003_fleet_scheduling': {
      async up(db: Kysely<unknown>): Promise<void> {
        // What a job needs and how it is retried; jobs from before were all pinned to their worker.
        const jobs = [
          ['labels', 'text', "'{}'"],
          ['priority', 'integer', '0'],
          ['retry', 'text', "'{}'"],
          ['pinned_worker', 'text', "''"],
          ['reason', 'text', "''"],
          ['attempt', 'integer', '1'],
          // Sandbox requests (resources, network, isolate), kept so a queued or retried job starts with them.
          ['sandbox', 'text', "'{}'"],
        ] as const;
        for (const [name, type, fallback] of jobs) {
          await db.schema
            .alterTable('jobs')
            .addColumn(name, type, (c) => c.notNull().defaultTo(sql.raw(fallback)))
            .execute();
        }
        await db.schema.alterTable('jobs').addColumn('next_attempt_at', 'bigint').execute();
        await sql`update jobs set pinned_worker = worker_id`.execute(db);
      },
    },
    '004_events_and_submit': {
      async up(db: Kysely<unknown>): Promise<void> {
        // The change log `GET /v1/events` replays from (Last-Event-ID): an increasing integer id per event.
        await db.schema
          .createTable('events')
          .addColumn('id', dialect === 'postgres' ? 'bigserial' : 'integer', (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('entity_id', 'text', (c) => c.notNull())
          .addColumn('data', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('events_entity_id').on('events').columns(['entity_id', 'id']).execute();

        const jobs = [
          // 0: no limit.
          ['timeout_ms', 'bigint', '0'],
          // run_on all: the parent's id on each child; '' otherwise.
          ['parent_id', 'text', "''"],
          // 'all' on a parent job (never dispatched itself); '' otherwise.
          ['run_on', 'text', "''"],
          // JSON list of a parent's child ids.
          ['children', 'text', "'[]'"],
          // Idempotency-Key of the request that made the job, and the hash of that request's body.
          ['idempotency_key', 'text', "''"],
          ['request_hash', 'text', "''"],
        ] as const;
        for (const [name, type, fallback] of jobs) {
          await db.schema
            .alterTable('jobs')
            .addColumn(name, type, (c) => c.notNull().defaultTo(sql.raw(fallback)))
            .execute();
        }
        // A key is unique per submitter: the same key from two tokens is two requests.
        await db.schema.createIndex('jobs_idempotency').on('jobs').columns(['submitted_by', 'idempotency_key']).unique().where(sql.ref('idempotency_key'), '<>', '').execute();

        // Who drained the worker ('' when it is not draining): "worker" when its own heartbeat said so.
        await db.schema
          .alterTable('workers')
          .addColumn('draining_by', 'text', (c) => c.notNull().defaultTo(''))
          .execute();
      },
    },
    '005_error_code': {
      async up(db: Kysely<unknown>): Promise<void> {
        // What kind of error `error` is (a BatonError code: BAD_REQUEST, NOT_FOUND…), '' for none:
        // another scheduler answering for a failed start gives the status the worker's refusal called for.
        await db.schema
          .alterTable('jobs')
          .addColumn('error_code', 'text', (c) => c.notNull().defaultTo(''))
          .execute();
      },
    },
    '006_schedules': {
      async up(db: Kysely<unknown>): Promise<void> {
        // Cron schedules; `job` is the POST /v1/jobs body each tick submits, as JSON.
        await db.schema
          .createTable('schedules')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('cron', 'text', (c) => c.notNull())
          .addColumn('timezone', 'text', (c) => c.notNull())
          .addColumn('job', 'text', (c) => c.notNull())
          .addColumn('overlap', 'text', (c) => c.notNull())
          .addColumn('catchup_window_ms', 'bigint', (c) => c.notNull())
          .addColumn('paused', 'integer', (c) => c.notNull().defaultTo(0))
          // Every tick at or before it is handled: fired, skipped or recorded missed.
          .addColumn('cursor_at', 'bigint', (c) => c.notNull())
          // buffer_one: the tick waiting for the previous run to end.
          .addColumn('buffered_for', 'bigint')
          .addColumn('missed', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('last_missed_at', 'bigint')
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();
        // The run of a schedule's tick: '' and null for jobs no schedule made (and for runs triggered by hand).
        await db.schema
          .alterTable('jobs')
          .addColumn('schedule', 'text', (c) => c.notNull().defaultTo(''))
          .execute();
        await db.schema.alterTable('jobs').addColumn('scheduled_for', 'bigint').execute();
        // Exactly once per tick: a restart, a second leader or a clock step cannot make a second job for one.
        await db.schema.createIndex('jobs_schedule_tick').on('jobs').columns(['schedule', 'scheduled_for']).unique().where(sql.ref('schedule'), '<>', '').execute();
        await db.schema.createIndex('jobs_schedule_id').on('jobs').columns(['schedule', 'id']).execute();
      },
    },
    '007_flow_control': {
      async up(db: Kysely<unknown>): Promise<void> {
        // JSON concurrency rule {key, limit, onLimit}; '' for none.
        await db.schema
          .alterTable('jobs')
          .addColumn('concurrency', 'text', (c) => c.notNull().defaultTo(''))
          .execute();
        // JSON list of the ids of the jobs this one waits for, and what they must do (succeeded | finished).
        await db.schema
          .alterTable('jobs')
          .addColumn('after', 'text', (c) => c.notNull().defaultTo('[]'))
          .execute();
        await db.schema
          .alterTable('jobs')
          .addColumn('after_condition', 'text', (c) => c.notNull().defaultTo('succeeded'))
          .execute();
      },
    },
    '009_job_name_and_stdin': {
      async up(db: Kysely<unknown>): Promise<void> {
        // A display name ('' for none), listed by name newest first (GET /v1/jobs?name=).
        await db.schema
          .alterTable('jobs')
          .addColumn('name', 'text', (c) => c.notNull().defaultTo(''))
          .execute();
        await db.schema.createIndex('jobs_name_id').on('jobs').columns(['name', 'id']).execute();
        // What `baton run -i` read: base64 bytes each attempt's process reads on stdin. Their
        // count is a column of its own so that listing jobs need not read the bytes.
        await db.schema
          .alterTable('jobs')
          .addColumn('stdin', 'text', (c) => c.notNull().defaultTo(''))
          .execute();
        await db.schema
          .alterTable('jobs')
          .addColumn('stdin_bytes', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
      },
    },
    '010_job_output': {
      async up(db: Kysely<unknown>): Promise<void> {
        // Each ended attempt's output, copied from its worker so it outlives the worker and every
        // scheduler sharing the store can serve it. No foreign key to jobs: pruning a job
        // deletes its output rows itself, in batches.
        await db.schema
          .createTable('outputs')
          .addColumn('job_id', 'text', (c) => c.notNull())
          .addColumn('attempt', 'integer', (c) => c.notNull())
          .addColumn('bytes', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('complete', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('truncated', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('completed_at', 'bigint')
          .addColumn('pruned_at', 'bigint')
          .addColumn('pruned_reason', 'text', (c) => c.notNull().defaultTo(''))
          .addPrimaryKeyConstraint('outputs_pk', ['job_id', 'attempt'])
          .execute();
        // Retention walks kept outputs oldest first.
        await db.schema.createIndex('outputs_kept_completed').on('outputs').columns(['pruned_at', 'completed_at']).execute();
        await db.schema
          .createTable('output_chunks')
          .addColumn('job_id', 'text', (c) => c.notNull())
          .addColumn('attempt', 'integer', (c) => c.notNull())
          .addColumn('start', 'bigint', (c) => c.notNull())
          .addColumn('data', dialect === 'postgres' ? 'bytea' : 'blob', (c) => c.notNull())
          .addPrimaryKeyConstraint('output_chunks_pk', ['job_id', 'attempt', 'start'])
          .execute();
        // --job-retention deletes the jobs that finished longest ago first.
        await db.schema.createIndex('jobs_finished_at').on('jobs').column('finished_at').execute();
      },
    },
    '011_output_runs': {
      async up(db: Kysely<unknown>): Promise<void> {
        // Which of a kept output's bytes came from stdout and which from stderr, so that either
        // can be read alone after the worker is gone. A row only for outputs kept apart.
        await db.schema
          .createTable('output_runs')
          .addColumn('job_id', 'text', (c) => c.notNull())
          .addColumn('attempt', 'integer', (c) => c.notNull())
          .addColumn('runs', dialect === 'postgres' ? 'bytea' : 'blob', (c) => c.notNull())
          .addPrimaryKeyConstraint('output_runs_pk', ['job_id', 'attempt'])
          .execute();
      },
    },
    '012_partial_job_indexes': {
      async up(db: Kysely<unknown>): Promise<void> {
        // Most jobs have no schedule and no name, and are unfinished through all their writes but
        // the last: indexed only when they have one, a job's insert and its status updates skip
        // these (on PostgreSQL every update of a job writes an entry in each index that holds it:
        // its state and worker are indexed, so none is made in place). The lists by schedule and
        // by name say `<> ''` so that the planner may use them.
        await db.schema.dropIndex('jobs_schedule_id').execute();
        await db.schema.createIndex('jobs_schedule_id').on('jobs').columns(['schedule', 'id']).where(sql.ref('schedule'), '<>', '').execute();
        await db.schema.dropIndex('jobs_name_id').execute();
        await db.schema.createIndex('jobs_name_id').on('jobs').columns(['name', 'id']).where(sql.ref('name'), '<>', '').execute();
        await db.schema.dropIndex('jobs_finished_at').execute();
        await db.schema.createIndex('jobs_finished_at').on('jobs').column('finished_at').where(sql.ref('finished_at'), 'is not', null).execute();
      },
    },
  };
}

/** The migrations for a dialect (only the column types of an auto-increment id differ). */
export function migrationProvider(dialect: Dialect): MigrationProvider {
  return { getMigrations: () => Promise.resolve(migrations(dialect)) };
}
