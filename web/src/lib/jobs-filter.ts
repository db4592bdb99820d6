import { JOB_STATES, type JobState } from '../../../src/client/index.js';
import { commandLine, parseLabelText } from './format.js';

/** Pure: the jobs list's filters, as they are kept in the page's address (so a reload or a shared link keeps them). */
export interface JobsFilter {
  state: JobState | '';
  worker: string;
  /** "k=v, k2=v2": jobs carrying all these labels. */
  label: string;
  /** Words of the command line. */
  q: string;
  /** The page: a cursor of `GET /v1/jobs` (absent: the newest). */
  cursor: string;
}

/** An unknown state is dropped rather than sent (the API would refuse the whole list). */
export function filterFromParams(params: Record<string, string>): JobsFilter {
  const state = params.state ?? '';
  return {
    state: (JOB_STATES as readonly string[]).includes(state) ? (state as JobState) : '',
    worker: params.worker ?? '',
    label: params.label ?? '',
    q: params.q ?? '',
    cursor: params.cursor ?? '',
  };
}

export function filterToParams(f: JobsFilter): Record<string, string> {
  return { state: f.state, worker: f.worker, label: f.label, q: f.q, cursor: f.cursor };
}

/** Label and command filters are applied here, to the jobs the API answered; true when they narrow the list. */
export function narrowsHere(f: JobsFilter): boolean {
  return f.label.trim() !== '' || f.q.trim() !== '';
}

/** Does a job pass the label and command filters? A malformed label filter throws, naming the pair. */
export function jobMatcher(f: JobsFilter): (job: { command: string; path?: string; args?: string[]; labels: Record<string, string> }) => boolean {
  const labels = Object.entries(parseLabelText(f.label));
  const needle = f.q.trim().toLowerCase();
  return (job) => labels.every(([k, v]) => job.labels[k] === v) && (!needle || commandLine(job).toLowerCase().includes(needle));
}
