/**
 * Bench only, loaded into a scheduler with `NODE_OPTIONS=--import=<this file>` by
 * bench/profile.ts. SIGUSR2 starts a measured window: V8's CPU profiler runs and every SQL
 * statement and transaction is counted; a second SIGUSR2 ends it and writes
 * `profile.cpuprofile` and `counts.json` to $BENCH_PROFILE_DIR. The scheduler's own code is
 * not changed: the counting wraps the database drivers' methods and fs.write from outside.
 */
import { renameSync, writeFileSync } from 'node:fs';
import inspector from 'node:inspector';
import { createRequire } from 'node:module';
import path from 'node:path';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

const dir = process.env.BENCH_PROFILE_DIR ?? '.';
const require = createRequire(import.meta.url);

/**
 * Statements by their first words ("insert into jobs", "update attempts", "begin"…), and transactions.
 * SQLite's statements run synchronously, so the time each kind holds the event loop is measured too.
 */
const counts = { statements: new Map<string, number>(), statementNs: new Map<string, number>(), transactions: 0, logLines: 0 };

/** "UPDATE "jobs" SET …" → "update jobs": what a statement does to which table, with no values. */
function kind(sql: string): string {
  const words = sql
    .replace(/["`]/g, '')
    .toLowerCase()
    .split(/\s+/)
    .filter((w) => w !== '');
  const [verb = '?'] = words;
  const table = verb === 'insert' ? words[2] : verb === 'update' ? words[1] : verb === 'delete' ? words[2] : verb === 'select' ? words[words.indexOf('from') + 1] : undefined;
  return table === undefined ? verb : `${verb} ${table}`;
}

/** kind() by statement text: a few dozen distinct statements, run thousands of times. */
const kinds = new Map<string, string>();

function count(sql: string): string {
  let k = kinds.get(sql);
  if (k === undefined) kinds.set(sql, (k = kind(sql)));
  counts.statements.set(k, (counts.statements.get(k) ?? 0) + 1);
  return k;
}

type Fn = (this: unknown, ...args: unknown[]) => unknown;

/** better-sqlite3: each run/all/get/iterate of a prepared statement, and each call of a transaction function. */
function wrapSqlite(): void {
  const Database = require('better-sqlite3') as { new (file: string): { prepare(sql: string): object; close(): void }; prototype: Record<string, Fn> };
  const probe = new Database(':memory:');
  const statement = Object.getPrototypeOf(probe.prepare('select 1')) as Record<string, Fn>;
  probe.close();
  for (const method of ['run', 'all', 'get', 'iterate']) {
    const original = statement[method]!;
    statement[method] = function (this: unknown, ...args: unknown[]) {
      const k = count((this as { source: string }).source);
      const started = process.hrtime.bigint();
      try {
        return original.apply(this, args);
      } finally {
        counts.statementNs.set(k, (counts.statementNs.get(k) ?? 0) + Number(process.hrtime.bigint() - started));
      }
    };
  }
  const transaction = Database.prototype.transaction!;
  Database.prototype.transaction = function (this: unknown, ...args: unknown[]) {
    const run = transaction.apply(this, args) as Fn;
    return function (this: unknown, ...inner: unknown[]) {
      counts.transactions++;
      return run.apply(this, inner);
    };
  };
}

/** node-postgres: each query a client sends; its transactions are counted by their COMMITs. */
function wrapPg(): void {
  let pg: { Client: { prototype: Record<string, Fn> } };
  try {
    pg = require('pg') as typeof pg;
  } catch {
    return;
  }
  const query = pg.Client.prototype.query!;
  pg.Client.prototype.query = function (this: unknown, ...args: unknown[]) {
    const [first] = args;
    const text = typeof first === 'string' ? first : ((first as { text?: string } | undefined)?.text ?? '?');
    count(text);
    if (/^\s*commit/i.test(text)) counts.transactions++;
    return query.apply(this, args);
  };
}

const session = new inspector.Session();
session.connect();
const post = (method: string, params?: object): Promise<unknown> =>
  new Promise((resolve, reject) => session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))));

/** Newlines in the first `written` bytes of `data`. */
function countLines(data: string | Buffer, written: unknown): void {
  if (typeof written !== 'number' || written <= 0) return;
  const bytes = (typeof data === 'string' ? Buffer.from(data) : data).subarray(0, written);
  for (let i = bytes.indexOf(10); i >= 0; i = bytes.indexOf(10, i + 1)) counts.logLines++;
}

/**
 * Log lines: pino writes them to fd 1 with fs.write (sonic-boom), several lines at a time.
 * Only the bytes a write took count: into a full pipe a write takes part of its data (or
 * none, EAGAIN), and the rest is written again.
 */
function wrapStdout(): void {
  const fs = require('node:fs') as Record<string, Fn>;
  const writeSync = fs.writeSync!;
  fs.writeSync = function (this: unknown, ...args: unknown[]) {
    const [fd, data] = args;
    const written = writeSync.apply(this, args);
    if (fd === 1 && (typeof data === 'string' || Buffer.isBuffer(data))) countLines(data, written);
    return written;
  };
  const write = fs.write!;
  fs.write = function (this: unknown, ...args: unknown[]) {
    const [fd, data] = args;
    const callback = args.at(-1);
    if (fd === 1 && (typeof data === 'string' || Buffer.isBuffer(data)) && typeof callback === 'function') {
      args[args.length - 1] = (err: unknown, written: unknown, ...rest: unknown[]) => {
        if (!err) countLines(data, written);
        return (callback as Fn)(err, written, ...rest);
      };
    }
    return write.apply(this, args);
  };
}

wrapSqlite();
wrapPg();
wrapStdout();

// The names startWindow and endWindow are known to bench/profile/buckets.ts: what runs under them is the profiler's own work.
async function startWindow(): Promise<void> {
  counts.statements.clear();
  counts.statementNs.clear();
  counts.transactions = 0;
  counts.logLines = 0;
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 500 });
  await post('Profiler.start');
}

async function endWindow(): Promise<void> {
  const { profile } = (await post('Profiler.stop')) as { profile: object };
  writeFileSync(
    path.join(dir, 'counts.json'),
    JSON.stringify({
      statements: Object.fromEntries(counts.statements),
      statementNs: Object.fromEntries(counts.statementNs),
      transactions: counts.transactions,
      logLines: counts.logLines,
      memory: process.memoryUsage(),
      afterGc: memoryAfterGc(),
    }),
  );
  // Written last: the bench waits for this file.
  writeFileSync(path.join(dir, 'profile.cpuprofile.tmp'), JSON.stringify(profile));
  renameSync(path.join(dir, 'profile.cpuprofile.tmp'), path.join(dir, 'profile.cpuprofile'));
}

/** The memory still in use once garbage is collected (a full GC, forced: bench only). */
function memoryAfterGc(): NodeJS.MemoryUsage {
  v8.setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  return process.memoryUsage();
}

let profiling = false;
process.on('SIGUSR2', () => {
  profiling = !profiling;
  void (profiling ? startWindow() : endWindow());
});
