import { sql, type RawBuilder, type Selectable } from 'kysely';
import type { AttemptEnded, EndedOutput, MissingOutput, OutputRecord, OutputStore, PruneOutputs } from './output-store.js';
import type { OutputsTable } from './schema.js';
import type { SqlContext } from './sql.js';
import { asBuffer } from '../../common/bytes.js';

/** The values of `keepEndedOutput`'s check and their SQL types, for its merged form (`SqlContext.mergeable`). */
const ENDED_VALUES = { jobId: 'text', attempt: 'integer', workerId: 'text', state: 'text' };
/** The same for the row of the output it keeps. */
const KEPT_VALUES = { jobId: 'text', attempt: 'integer', bytes: 'bigint', truncated: 'integer', now: 'bigint' };

/** The output port on SQLite and PostgreSQL: a row per attempt, its bytes in `output_chunks`. */
export class SqlOutputStore implements OutputStore {
  constructor(private readonly ctx: SqlContext) {}

  async beginOutput(jobId: string, attempt: number, now: number): Promise<boolean> {
    const { db, writer } = this.ctx;
    const existing = await this.getOutput(jobId, attempt);
    if (existing && (existing.complete || existing.prunedAt !== null)) return false;
    await writer.run([
      db.deleteFrom('output_chunks').where('job_id', '=', jobId).where('attempt', '=', attempt).compile(),
      db.deleteFrom('output_runs').where('job_id', '=', jobId).where('attempt', '=', attempt).compile(),
      db.deleteFrom('outputs').where('job_id', '=', jobId).where('attempt', '=', attempt).compile(),
      db
        .insertInto('outputs')
        .values({ job_id: jobId, attempt, bytes: 0, complete: 0, truncated: 0, created_at: now, completed_at: null, pruned_at: null, pruned_reason: '' })
        .compile(),
    ]);
    return true;
  }

  async appendOutput(jobId: string, attempt: number, start: number, data: Uint8Array): Promise<void> {
    const { db, writer } = this.ctx;
    // A transaction per piece: grouped with others, several pieces would make one long synchronous commit.
    await writer.runAlone([
      db.insertInto('output_chunks').values({ job_id: jobId, attempt, start, data }).compile(),
      db
        .updateTable('outputs')
        .set({ bytes: start + data.byteLength })
        .where('job_id', '=', jobId)
        .where('attempt', '=', attempt)
        .compile(),
    ]);
  }

  async keepEndedOutput(jobId: string, attempt: number, end: AttemptEnded, output: EndedOutput, now: number): Promise<boolean> {
    const { db, writer, templates } = this.ctx;
    // Statements per ended job on the hot path, in the group commit: compiled once. The inserts
    // are made only when the attempt's row holds this end (the end's own write, asked for first,
    // runs before them), and each does nothing when its row is there, so an end report applied
    // twice stores the output once (a worker sends the bytes with the live end only, never in a replay).
    const ended = this.ctx.mergeable('keepEndedOutputAttempt', ENDED_VALUES, (p, rows) => {
      const select = db
        .selectFrom('attempts')
        .select('number')
        .where('job_id', '=', p<string>('jobId'))
        .where('number', '=', p<number>('attempt'))
        .where('worker_id', '=', p<string>('workerId'))
        .where('state', '=', p<string>('state'));
      return rows ? select.innerJoin(rows.table, (join) => join.onTrue()).select(rows.ordinal) : select;
    });
    // Mergeable, though nothing reads what it returns: a query alone in a group commit stops the
    // queries after it from merging with those before (merge-plan.ts), and each ended job's
    // insert would cut the group's event inserts into one statement per job.
    const insert = this.ctx.mergeable(
      'keepEndedOutput',
      KEPT_VALUES,
      (p, rows) => {
        const insert = db.insertInto('outputs');
        const kept = rows
          ? insert
              .columns(['job_id', 'attempt', 'bytes', 'complete', 'truncated', 'created_at', 'completed_at'])
              .expression(
                db
                  .selectFrom(rows.table)
                  .select([
                    p<RawBuilder<string>>('jobId').as('job_id'),
                    p<RawBuilder<number>>('attempt').as('attempt'),
                    p<RawBuilder<number>>('bytes').as('bytes'),
                    sql.lit(1).as('complete'),
                    p<RawBuilder<number>>('truncated').as('truncated'),
                    p<RawBuilder<number>>('now').as('created_at'),
                    p<RawBuilder<number>>('now').as('completed_at'),
                  ]),
              )
          : insert.values({
              job_id: p('jobId'),
              attempt: p('attempt'),
              bytes: p('bytes'),
              complete: 1,
              truncated: p('truncated'),
              created_at: p('now'),
              completed_at: p('now'),
              pruned_at: null,
              pruned_reason: '',
            });
        const once = kept.onConflict((oc) => oc.columns(['job_id', 'attempt']).doNothing());
        return rows ? once.returning(sql<string>`job_id`.as('baton_key')) : once;
      },
      'key',
    );
    const chunk = templates.get('keepEndedOutputChunk', (p) =>
      db
        .insertInto('output_chunks')
        .values({ job_id: p('jobId'), attempt: p('attempt'), start: 0, data: p('data') })
        .onConflict((oc) => oc.columns(['job_id', 'attempt', 'start']).doNothing()),
    );
    const runs = templates.get('keepEndedOutputRuns', (p) =>
      db
        .insertInto('output_runs')
        .values({ job_id: p('jobId'), attempt: p('attempt'), runs: p('runs') })
        .onConflict((oc) => oc.columns(['job_id', 'attempt']).doNothing()),
    );
    const bytes = output.data.byteLength;
    const [found] = await writer.runRows([
      ended.fill({ jobId, attempt, workerId: end.workerId, state: end.state }, jobId),
      ([check]) =>
        check!.rows.length === 0
          ? []
          : [
              insert.fill({ jobId, attempt, bytes, truncated: output.truncated ? 1 : 0, now }, jobId),
              ...(bytes > 0 ? [chunk.fill({ jobId, attempt, data: output.data })] : []),
              ...(output.runs !== undefined ? [runs.fill({ jobId, attempt, runs: output.runs })] : []),
            ],
    ]);
    return found!.rows.length > 0;
  }

  async keepOutputRuns(jobId: string, attempt: number, runs: Uint8Array): Promise<void> {
    const { db, writer } = this.ctx;
    await writer.run([
      db.deleteFrom('output_runs').where('job_id', '=', jobId).where('attempt', '=', attempt).compile(),
      db.insertInto('output_runs').values({ job_id: jobId, attempt, runs }).compile(),
    ]);
  }

  async readOutputRuns(jobId: string, attempt: number): Promise<Buffer | undefined> {
    const row = await this.ctx.db.selectFrom('output_runs').select('runs').where('job_id', '=', jobId).where('attempt', '=', attempt).executeTakeFirst();
    return row && asBuffer(row.runs);
  }

  async completeOutput(jobId: string, attempt: number, bytes: number, truncated: boolean, now: number): Promise<void> {
    const { db, writer } = this.ctx;
    await writer.run([
      db
        .updateTable('outputs')
        .set({ bytes, complete: 1, truncated: truncated ? 1 : 0, completed_at: now })
        .where('job_id', '=', jobId)
        .where('attempt', '=', attempt)
        .compile(),
    ]);
  }

  async getOutput(jobId: string, attempt: number): Promise<OutputRecord | undefined> {
    const row = await this.ctx.db.selectFrom('outputs').selectAll().where('job_id', '=', jobId).where('attempt', '=', attempt).executeTakeFirst();
    return row && toRecord(row);
  }

  async readOutput(jobId: string, attempt: number, offset: number, maxBytes: number): Promise<Buffer> {
    const { db } = this.ctx;
    // The piece holding `offset`, then those after it up to `offset + maxBytes`.
    const first = await db
      .selectFrom('output_chunks')
      .select('start')
      .where('job_id', '=', jobId)
      .where('attempt', '=', attempt)
      .where('start', '<=', offset)
      .orderBy('start', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (!first) return Buffer.alloc(0);
    const rows = await db
      .selectFrom('output_chunks')
      .select(['start', 'data'])
      .where('job_id', '=', jobId)
      .where('attempt', '=', attempt)
      .where('start', '>=', Number(first.start))
      .where('start', '<', offset + maxBytes)
      .orderBy('start')
      .execute();
    const parts: Buffer[] = [];
    let at = offset;
    for (const row of rows) {
      const start = Number(row.start);
      const data = asBuffer(row.data);
      if (start > at) break; // a gap: never serve bytes out of place
      const from = at - start;
      if (from >= data.length) continue;
      const piece = data.subarray(from, from + (offset + maxBytes - at));
      parts.push(piece);
      at += piece.length;
    }
    return Buffer.concat(parts);
  }

  async pruneOutputs(which: PruneOutputs, reason: string, batch: number, now: number): Promise<number> {
    const { db, writer } = this.ctx;
    let query = db.selectFrom('outputs').select(['job_id', 'attempt', 'bytes']).where('complete', '=', 1).where('pruned_at', 'is', null);
    if (which.completedBefore !== undefined) query = query.where('completed_at', '<', which.completedBefore);
    if (which.jobIds !== undefined) {
      if (which.jobIds.length === 0) return 0;
      query = query.where('job_id', 'in', which.jobIds);
    }
    let over = Number.POSITIVE_INFINITY;
    if (which.keepBytes !== undefined) {
      over = (await this.keptOutputBytes()) - which.keepBytes;
      if (over <= 0) return 0;
    }
    const candidates = await query.orderBy('completed_at').orderBy('job_id').orderBy('attempt').limit(batch).execute();
    const chosen: typeof candidates = [];
    let bytes = 0;
    for (const c of candidates) {
      if (over <= 0 || (chosen.length > 0 && which.maxBytes !== undefined && bytes + Number(c.bytes) > which.maxBytes)) break;
      chosen.push(c);
      over -= Number(c.bytes);
      bytes += Number(c.bytes);
    }
    if (chosen.length === 0) return 0;
    await writer.run(
      chosen.flatMap((c) => [
        db.deleteFrom('output_chunks').where('job_id', '=', c.job_id).where('attempt', '=', c.attempt).compile(),
        db.deleteFrom('output_runs').where('job_id', '=', c.job_id).where('attempt', '=', c.attempt).compile(),
        db.updateTable('outputs').set({ pruned_at: now, pruned_reason: reason }).where('job_id', '=', c.job_id).where('attempt', '=', c.attempt).compile(),
      ]),
    );
    return chosen.length;
  }

  async missingOutputs(workerIds: readonly string[], staleBefore: number, limit: number): Promise<MissingOutput[]> {
    if (workerIds.length === 0) return [];
    const rows = await this.ctx.db
      .selectFrom('attempts as a')
      .leftJoin('outputs as o', (join) => join.onRef('o.job_id', '=', 'a.job_id').onRef('o.attempt', '=', 'a.number'))
      .select(['a.job_id', 'a.number', 'a.worker_id'])
      .where('a.worker_id', 'in', workerIds)
      .where('a.finished_at', 'is not', null)
      .where((eb) => eb.or([eb('o.job_id', 'is', null), eb.and([eb('o.complete', '=', 0), eb('o.pruned_at', 'is', null), eb('o.created_at', '<', staleBefore)])]))
      .orderBy('a.finished_at', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ jobId: r.job_id, attempt: r.number, workerId: r.worker_id }));
  }

  async forgetOutputs(jobIds: readonly string[]): Promise<void> {
    if (jobIds.length === 0) return;
    const { db, writer } = this.ctx;
    await writer.run([
      db.deleteFrom('output_chunks').where(this.ctx.among('job_id', jobIds)).compile(),
      db.deleteFrom('output_runs').where(this.ctx.among('job_id', jobIds)).compile(),
      db.deleteFrom('outputs').where(this.ctx.among('job_id', jobIds)).compile(),
    ]);
  }

  async keptOutputBytes(): Promise<number> {
    const row = await this.ctx.db
      .selectFrom('outputs')
      .select((eb) => eb.fn.sum<number | string | null>('bytes').as('total'))
      .where('complete', '=', 1)
      .where('pruned_at', 'is', null)
      .executeTakeFirst();
    return Number(row?.total ?? 0);
  }
}

function toRecord(r: Selectable<OutputsTable>): OutputRecord {
  return {
    jobId: r.job_id,
    attempt: Number(r.attempt),
    bytes: Number(r.bytes),
    complete: Number(r.complete) === 1,
    truncated: Number(r.truncated) === 1,
    createdAt: Number(r.created_at),
    completedAt: r.completed_at === null ? null : Number(r.completed_at),
    prunedAt: r.pruned_at === null ? null : Number(r.pruned_at),
    prunedReason: r.pruned_reason,
  };
}
