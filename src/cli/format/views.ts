import type { Job, JobDetail, Worker } from '../../client/index.js';
import { paintState, type Palette } from './color.js';
import { attemptExitCode, exitText } from './exit-code.js';
import { renderTable, truncate } from './table.js';
import { elapsed, relativeTime } from './time.js';

/** Pure: what `baton ps`, `status` and `workers` print. */

/** A word a shell would read back as the same word: `echo hi` → `echo hi`, `a b` → `'a b'`. */
export function shellQuote(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The job's command line as typed: command, then the script path, then the arguments. */
export function commandLine(job: Pick<Job, 'command' | 'path' | 'args'>): string {
  return [job.command, ...(job.path ? [job.path] : []), ...job.args].map(shellQuote).join(' ');
}

// Shared with the dashboard, which shows exits the same way.
export { exitText };

/** "2025-01-10T11:59:59Z": a time as it was, to the second, in UTC. */
function absoluteTime(iso: string | null): string {
  return iso ? iso.replace(/\.\d+Z$/, 'Z') : '-';
}

/** "zone=gpu,team=ml", or "-" for none. */
function labelsText(labels: Record<string, string>): string {
  return (
    Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',') || '-'
  );
}

/**
 * `wide` (`ps -o wide`): the attempt, name, labels, the whole command line and absolute times.
 * The narrow table has a NAME column only when one of the jobs has a name.
 */
export function jobsTable(jobs: readonly Job[], now: number, p: Palette, wide = false): string[] {
  const named = jobs.some((j) => j.name);
  const header = wide
    ? ['JOB ID', 'NAME', 'STATE', 'WORKER', 'ATTEMPT', 'LABELS', 'COMMAND', 'CREATED', 'FINISHED', 'DURATION', 'EXIT']
    : ['JOB ID', ...(named ? ['NAME'] : []), 'STATE', 'WORKER', 'COMMAND', 'CREATED', 'DURATION', 'EXIT'];
  const rows = [header.map(p.bold)];
  for (const j of jobs) {
    const duration = elapsed(j.created_at, j.finished_at, now);
    // Waiting and skipped jobs never ran: why is the one thing to know about them.
    const state = (j.state === 'waiting' || j.state === 'skipped') && j.reason ? `${paintState(p, j.state)} (${wide ? j.reason : truncate(j.reason, 60)})` : paintState(p, j.state);
    if (wide) {
      rows.push([
        j.id,
        j.name ?? '-',
        state,
        j.worker_id ?? '-',
        String(j.attempt),
        labelsText(j.labels),
        commandLine(j),
        absoluteTime(j.created_at),
        absoluteTime(j.finished_at),
        duration,
        exitText(j),
      ]);
    } else {
      const name = named ? [truncate(j.name ?? '-', 24)] : [];
      rows.push([j.id, ...name, state, j.worker_id ?? '-', truncate(commandLine(j), 40), relativeTime(j.created_at, now), duration, exitText(j)]);
    }
  }
  return renderTable(rows);
}

export function workersTable(workers: readonly Worker[], now: number, p: Palette): string[] {
  const rows = [['WORKER ID', 'STATE', 'ADDRESS', 'RUNNING', 'LABELS', 'LAST HEARTBEAT', 'VERSION'].map(p.bold)];
  for (const w of workers) {
    const labels = labelsText(w.labels);
    rows.push([
      w.id,
      paintState(p, w.state) + (w.unreachable ? ' (unreachable)' : '') + (w.draining ? ' (draining)' : ''),
      w.address,
      `${w.running}/${w.capacity}`,
      labels,
      relativeTime(w.last_heartbeat, now),
      w.version || '-',
    ]);
  }
  return renderTable(rows);
}

/** `baton status`: one field a line, then the attempts. */
export function jobStatus(job: JobDetail, now: number, p: Palette): string[] {
  const at = (iso: string | null): string => (iso ? `${iso} (${relativeTime(iso, now)})` : '-');
  const fields: [string, string][] = [
    ['Job', job.id],
    ...(job.name ? ([['Name', job.name]] as [string, string][]) : []),
    ['State', paintState(p, job.state)],
    // No worker: queued, stopped while queued, or the parent of a run_on "all" job.
    ['Worker', job.worker_id ?? '-'],
    ['Command', commandLine(job)],
  ];
  if (job.reason) fields.push(['Reason', job.reason]);
  if (job.after.length > 0) fields.push(['After', `${job.after.join(', ')} (${job.after_condition})`]);
  if (job.concurrency) fields.push(['Concurrency', `key ${job.concurrency.key}, limit ${job.concurrency.limit}, on limit ${job.concurrency.on_limit}`]);
  if (Object.keys(job.labels).length > 0) fields.push(['Labels', labelsText(job.labels)]);
  if (job.cwd) fields.push(['Directory', job.cwd]);
  if (job.stdin_bytes > 0) fields.push(['Stdin', `${job.stdin_bytes} bytes`]);
  const envKeys = Object.keys(job.env);
  if (envKeys.length > 0) fields.push(['Environment', envKeys.sort().join(', ')]);
  fields.push(['Created', at(job.created_at)]);
  if (job.finished_at) fields.push(['Finished', at(job.finished_at)]);
  fields.push(['Duration', elapsed(job.created_at, job.finished_at, now) + (job.finished_at ? '' : ' so far')]);
  fields.push(['Exit', exitText(job)]);
  if (job.error) fields.push(['Error', p.red(job.error)]);
  if (job.output_truncated) fields.push(['Output', p.yellow('truncated at the worker’s output cap')]);
  if (job.submitted_by) fields.push(['Submitted by', job.submitted_by]);
  if (job.stopped_by) fields.push(['Stopped by', job.stopped_by]);
  const lines = renderTable(
    fields.map(([k, v]) => [p.bold(`${k}:`), v]),
    1,
  );
  if (job.attempts.length > 0) {
    lines.push('', p.bold('Attempts:'));
    const rows = [['#', 'WORKER', 'STATE', 'STARTED', 'FINISHED', 'EXIT', 'ERROR'].map(p.dim)];
    for (const a of job.attempts) {
      const code = attemptExitCode(job, a);
      rows.push([
        String(a.number),
        a.worker_id ?? '-',
        paintState(p, a.state),
        relativeTime(a.started_at, now),
        relativeTime(a.finished_at, now),
        code === undefined ? '-' : String(code),
        a.error ?? '',
      ]);
    }
    lines.push(...renderTable(rows).map((l) => `  ${l}`));
  }
  return lines;
}
