import { JobState } from '../gen/baton/v1/common.js';
import { isFinalState } from './exit-status.js';
import type { JobChange } from './job-table.js';

/**
 * How long a job's STARTING or RUNNING report waits for the job's next change before it goes
 * to the scheduler alone, counted from the job's first report. A short job's start and end
 * then leave together, and the scheduler records both in one write (its status bursts fold a
 * RUNNING and the end after it: src/scheduler/status-burst.ts) instead of two, from one
 * WatchJobs read. With both cores busy (the e2e bench), `true` ends 20–150 ms after the worker
 * accepts it: the processes queue for a core. A long job is seen running at most this late;
 * its start time is the worker's, as before.
 */
export const REPORT_HOLD_MS = 200;

/**
 * Reports are held only while the worker has at least this many jobs that have not ended: a
 * busy worker's short jobs are where the scheduler's second write per job costs throughput. A
 * worker running a few jobs reports each change at once, so a job someone is watching is seen
 * running as soon as it runs.
 */
export const HOLD_WHEN_ACTIVE = 4;

interface Held {
  change: JobChange;
  /** When it goes alone (ms). */
  until: number;
}

/**
 * Which of a worker's job changes leave for the scheduler's WatchJobs stream now, and which
 * wait (see REPORT_HOLD_MS and HOLD_WHEN_ACTIVE). On a busy worker, a job's STARTING or RUNNING waits; its next change takes its
 * place in the hold (with the first one's deadline, so none waits longer), and its end goes at
 * once, after the RUNNING held, if any. A STARTING overtaken is dropped: the scheduler marks
 * the job dispatched before the worker hears of it, so that report changes nothing there.
 * Each job's reports keep their order; across jobs, a held one leaves after later changes of
 * other jobs (seq is not increasing on the stream). Pure: the caller owns the clock and timer.
 */
export class ReportHold {
  /** By job id, in order of their deadlines (a Map keeps insertion order; a replaced entry keeps its place and deadline). */
  private readonly held = new Map<string, Held>();

  constructor(
    private readonly holdMs: number = REPORT_HOLD_MS,
    private readonly holdWhenActive: number = HOLD_WHEN_ACTIVE,
  ) {}

  /**
   * The changes to send now, in order, for `change` made at `now`, when `active` jobs on the
   * worker have not ended; `followed`: someone reads the job's output live, so it goes at once.
   */
  offer(change: JobChange, now: number, active: number, followed = false): JobChange[] {
    const jobId = change.status.jobId;
    const earlier = this.held.get(jobId);
    if (!isFinalState(change.status.state)) {
      if (earlier) earlier.change = change;
      else if (active >= this.holdWhenActive && !followed) this.held.set(jobId, { change, until: now + this.holdMs });
      else return [change];
      return [];
    }
    if (!earlier) return [change];
    this.held.delete(jobId);
    return earlier.change.status.state === JobState.JOB_STATE_RUNNING ? [earlier.change, change] : [change];
  }

  /** The held changes whose time has come at `now`, in order. */
  due(now: number): JobChange[] {
    const out: JobChange[] = [];
    for (const [jobId, held] of this.held) {
      if (held.until > now) break;
      this.held.delete(jobId);
      out.push(held.change);
    }
    return out;
  }

  /** The job's held change, if any, to send now: someone is reading its output or asking for it. */
  release(jobId: string): JobChange[] {
    const held = this.held.get(jobId);
    if (!held) return [];
    this.held.delete(jobId);
    return [held.change];
  }

  /** When the next held change is due; undefined when none waits. */
  nextDue(): number | undefined {
    for (const held of this.held.values()) return held.until;
    return undefined;
  }

  /** Every held change, at once (the worker is closing its streams). */
  flush(): JobChange[] {
    const out = [...this.held.values()].map((h) => h.change);
    this.held.clear();
    return out;
  }
}
