/**
 * `<data-dir>/ends/<job-id>.json`: how a job ended, written by the supervisor the moment
 * its leader exits and before anything is reported, so a job that ends while the worker
 * is down is reported with its real result when the worker is back. The worker deletes a
 * record once it has taken the end in.
 *
 * Node built-ins only: the supervisor (spawner-main.ts) imports this file.
 */
import { readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { JobMeta, OutputEnd } from './messages.js';

export const ENDS_DIR = 'ends';

export interface EndRecord {
  jobId: string;
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  startedAtMs: number;
  endedAtMs: number;
  meta: JobMeta;
  /** Set when the supervisor stopped the job itself: its worker did not come back within the window (ms). */
  orphanedAfterMs?: number;
  /** Set when the output went through the spawner's copy (see ExitedEvent). */
  output?: OutputEnd;
}

/** A file of the folder that is not a readable record: its job is reported lost, never twice. */
export interface UnreadableRecord {
  jobId: string;
  file: string;
  reason: string;
}

const SUFFIX = '.json';

/** Written to a temporary name and renamed, so a reader sees the whole record or none; throws (ENOSPC…) for the caller to report. */
export function writeEndRecord(dir: string, record: EndRecord): void {
  const file = path.join(dir, `${record.jobId}${SUFFIX}`);
  writeFileSync(`${file}.tmp`, JSON.stringify(record));
  renameSync(`${file}.tmp`, file);
}

export function removeEndRecord(dir: string, jobId: string): void {
  try {
    unlinkSync(path.join(dir, `${jobId}${SUFFIX}`));
  } catch {
    // ENOENT: the job ended while the worker was connected and no record was left.
  }
}

/** Every record of the folder; files that do not parse as one are listed apart and moved aside (`.corrupt`), so they are reported once. */
export function readEndRecords(dir: string): { records: EndRecord[]; unreadable: UnreadableRecord[] } {
  const records: EndRecord[] = [];
  const unreadable: UnreadableRecord[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return { records, unreadable };
  }
  for (const name of names) {
    if (!name.endsWith(SUFFIX)) continue;
    const jobId = name.slice(0, -SUFFIX.length);
    const file = path.join(dir, name);
    const record = parseEndRecord(readFileSync(file, 'utf8'), jobId);
    if (typeof record === 'string') {
      unreadable.push({ jobId, file, reason: record });
      renameSync(file, `${file}.corrupt`);
    } else {
      records.push(record);
    }
  }
  return { records, unreadable };
}

/** Pure: a record, or why the text is not one for `jobId`. */
export function parseEndRecord(text: string, jobId: string): EndRecord | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return `not JSON (${(err as Error).message}); the file may have been cut short`;
  }
  const r = parsed as Partial<EndRecord>;
  if (typeof r !== 'object' || r === null || r.jobId !== jobId) return 'it does not name this job';
  if (typeof r.pid !== 'number' || typeof r.endedAtMs !== 'number' || typeof r.startedAtMs !== 'number') return 'pid or times missing';
  if (!(r.code === null || typeof r.code === 'number') || !(r.signal === null || typeof r.signal === 'string')) return 'exit code or signal missing';
  if (typeof r.meta !== 'object' || r.meta === null || typeof r.meta.command !== 'string') return 'job details missing';
  return r as EndRecord;
}
