import { appendFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../common/logger.js';
import { startTimeOf } from './proc-stat.js';

/** A job's process group as recorded when it started: enough to find it again after a crash. */
export interface JournalEntry {
  job_id: string;
  /** The leader's pid, which is also the group id. */
  pgid: number;
  /** The leader's start time (see proc-stat.ts): tells it apart from a later process with its pid. */
  start: string;
}

/** A group the last run left behind, found alive and killed. */
export interface Leftover {
  jobId: string;
  pgid: number;
}

export const JOURNAL_FILE = 'running-jobs.jsonl';

/**
 * `<data-dir>/running-jobs.jsonl`: one line when a job's process starts, one when it ends.
 *
 * Jobs outlive the worker under their supervisor (spawner/spawner-main.ts), which the next
 * worker start asks what still runs; but if the supervisor dies too (a SIGKILL to it, the
 * OOM killer) the jobs live on with no one watching. The next start reads this file, kills
 * the groups still running that the supervisor does not account for, and they are reported lost. Appends are synchronous and small, so the line
 * is in the file before the job can do anything worth losing.
 */
export class RunJournal {
  private readonly file: string;
  /** Jobs with a start line and no end line yet. */
  private readonly open = new Set<string>();

  constructor(
    dataDir: string,
    private readonly log: Logger,
  ) {
    this.file = path.join(dataDir, JOURNAL_FILE);
  }

  /**
   * Reads what the last run left open. Jobs in `accounted` are still running under the
   * supervisor or ended with a record of it: those still running keep their lines. For every
   * other job, SIGKILLs its group if its leader is the very process recorded (same pid and
   * start time). Returns those other jobs, with the groups that were found alive.
   */
  recover(accounted: { running: ReadonlySet<string>; ended: ReadonlySet<string> }): { unfinished: string[]; killed: Leftover[] } {
    const all = this.unfinishedEntries();
    const kept = all.filter((e) => accounted.running.has(e.job_id));
    const entries = all.filter((e) => !accounted.running.has(e.job_id) && !accounted.ended.has(e.job_id));
    const killed: Leftover[] = [];
    for (const e of entries) {
      if (startTimeOf(e.pgid) !== e.start) continue; // gone, or the pid now belongs to another process
      try {
        process.kill(-e.pgid, 'SIGKILL');
        killed.push({ jobId: e.job_id, pgid: e.pgid });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') this.log.warn({ job_id: e.job_id, pgid: e.pgid, err }, 'could not kill a process group left by the last run');
      }
    }
    writeFileSync(`${this.file}.tmp`, kept.map((e) => `${JSON.stringify(e)}\n`).join(''));
    renameSync(`${this.file}.tmp`, this.file);
    for (const e of kept) this.open.add(e.job_id);
    return { unfinished: entries.map((e) => e.job_id), killed };
  }

  /**
   * Records a started job, with the start time its leader read from its own /proc entry
   * before exec (the spawner passes it on): read from here, that file waits for the exec to
   * complete, ~0.7 ms of a blocked worker per job. Without a start time nothing can tell the
   * leader from a later process with its pid, so there is no record.
   */
  started(jobId: string, pgid: number, start: string | undefined): void {
    if (start === undefined || this.open.has(jobId)) return;
    this.append({ job_id: jobId, pgid, start });
    this.open.add(jobId);
  }

  ended(jobId: string): void {
    if (!this.open.delete(jobId)) return;
    // Nothing running: start the file over so it does not grow for ever.
    if (this.open.size === 0) this.rewrite();
    else this.append({ job_id: jobId, done: true });
  }

  private append(line: object): void {
    try {
      appendFileSync(this.file, `${JSON.stringify(line)}\n`);
    } catch (err) {
      this.log.warn({ file: this.file, err }, 'could not write the run journal; a job left running by a crash may not be found');
    }
  }

  private rewrite(): void {
    try {
      writeFileSync(this.file, '');
    } catch (err) {
      this.log.warn({ file: this.file, err }, 'could not reset the run journal');
    }
  }

  private unfinishedEntries(): JournalEntry[] {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return unfinished(text);
  }
}

/** Pure: the entries of a journal's text that have no `done` line after them; a torn last line is skipped. */
export function unfinished(text: string): JournalEntry[] {
  const open = new Map<string, JournalEntry>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      continue;
    }
    const e = parsed as Partial<JournalEntry> & { done?: boolean };
    if (typeof e.job_id !== 'string') continue;
    if (e.done) open.delete(e.job_id);
    else if (typeof e.pgid === 'number' && Number.isInteger(e.pgid) && e.pgid > 1 && typeof e.start === 'string')
      open.set(e.job_id, { job_id: e.job_id, pgid: e.pgid, start: e.start });
  }
  return [...open.values()];
}
