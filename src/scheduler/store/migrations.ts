import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';

/**
 * Versioned migrations, in code so the built package needs no migration folder.
 * Names sort in the order they apply; never edit one that has shipped, add the next.
 */
const migrations: Record<string, Migration> = {
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
      await db.schema.alterTable('jobs').addColumn('submitted_by', 'text', (c) => c.notNull().defaultTo('')).execute();
      await db.schema.alterTable('jobs').addColumn('stopped_by', 'text', (c) => c.notNull().defaultTo('')).execute();
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
        await db.schema.alterTable('jobs').addColumn(name, type, (c) => c.notNull().defaultTo(sql.raw(fallback))).execute();
      }
      await db.schema.alterTable('jobs').addColumn('next_attempt_at', 'bigint').execute();
      await sql`update jobs set pinned_worker = worker_id`.execute(db);
    },
  },
};

export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(migrations),
};
