/**
 * Table shapes as Kysely sees them. Times are integer epoch milliseconds (bigint
 * columns; the PostgreSQL pool parses int8 to number), booleans are 0/1 integers, and
 * maps/lists are JSON text: the same rows in SQLite and PostgreSQL.
 */
export interface WorkersTable {
  id: string;
  address: string;
  labels: string;
  capacity: number;
  state: string;
  last_heartbeat_at: number;
  registered_at: number;
  version: string;
}

export interface JobsTable {
  id: string;
  state: string;
  worker_id: string;
  command: string;
  path: string;
  args: string;
  env: string;
  cwd: string;
  error: string;
  exit_code: number | null;
  signal: string;
  output_truncated: number;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
  /** Token name of the submitter ('' for jobs recorded before tokens existed). */
  submitted_by: string;
  /** Token name of whoever asked for the stop; '' when nobody did. */
  stopped_by: string;
  /** JSON map: labels a worker must carry. */
  labels: string;
  /** Higher first. */
  priority: number;
  /** JSON retry policy ('{}': the defaults). */
  retry: string;
  /** The worker the caller named; '' lets placement choose. */
  pinned_worker: string;
  /** Why a queued job waits; '' otherwise. */
  reason: string;
  /** Number of the current attempt (1 for the first). */
  attempt: number;
  /** A queued retry waits until then; null: at once. */
  next_attempt_at: number | null;
  /** JSON sandbox requests passed to the worker ('{}': none). */
  sandbox: string;
}

export interface TokensTable {
  id: string;
  name: string;
  role: string;
  /** Hex SHA-256 of the secret; the secret itself is never stored. */
  hash: string;
  created_at: number;
  revoked_at: number | null;
}

export interface AttemptsTable {
  job_id: string;
  number: number;
  worker_id: string;
  state: string;
  exit_code: number | null;
  signal: string;
  error: string;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
}

export interface Database {
  workers: WorkersTable;
  jobs: JobsTable;
  attempts: AttemptsTable;
  tokens: TokensTable;
}
