/**
 * Placement: which worker should run a job, or a sentence saying why none can. Pure (no
 * I/O, no clock): the dispatcher hands it the job's needs and a snapshot of the workers
 * and applies the answer itself. Three steps: filter (registered, up, not draining, has
 * the labels, the pinned worker if any, room left) → rank (least loaded relative to its
 * capacity, so load spreads) → select (the first; ties broken by id, so the same snapshot
 * always gives the same answer).
 */

export interface WorkerSnapshot {
  id: string;
  /** `unreachable`: up (it heartbeats) but the scheduler cannot dial it, so it takes no job. */
  state: 'up' | 'unreachable' | 'down' | 'deregistered';
  labels: Readonly<Record<string, string>>;
  capacity: number;
  /** Jobs the scheduler has placed there and not seen end, dispatched-but-unconfirmed included. */
  running: number;
  draining: boolean;
}

export interface JobNeeds {
  /** Every one must be on the worker with the same value. */
  labels: Readonly<Record<string, string>>;
  /** Only this worker may take the job (the caller named it). */
  pinnedWorker?: string;
}

export type Placement = { workerId: string } | { reason: string };

export function place(job: JobNeeds, workers: readonly WorkerSnapshot[]): Placement {
  if (job.pinnedWorker !== undefined) return placePinned(job, job.pinnedWorker, workers);
  // The first of the candidates in rank order, found in one walk: a pass places every job it
  // starts, each against every worker, so this allocates nothing. Why none fits is worked out
  // only when none does.
  let best: WorkerSnapshot | undefined;
  for (const w of workers) {
    if (w.state === 'up' && !w.draining && hasRoom(w) && hasLabels(w, job.labels) && (best === undefined || ranksBefore(w, best))) best = w;
  }
  return best ? { workerId: best.id } : { reason: refusal(job.labels, workers) };
}

/** "gpu=true,zone=a": labels as a person writes them, in a stable order. */
export function formatLabels(labels: Readonly<Record<string, string>>): string {
  const keys = Object.keys(labels);
  // Most jobs ask for none: a dispatch pass formats every queued job's labels.
  if (keys.length === 0) return '';
  return keys
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

export function hasLabels(worker: Pick<WorkerSnapshot, 'labels'>, wanted: Readonly<Record<string, string>>): boolean {
  // A walk of the keys, not Object.entries: placement asks this of every worker for every job.
  for (const k in wanted) {
    if (Object.hasOwn(wanted, k) && !(Object.hasOwn(worker.labels, k) && worker.labels[k] === wanted[k])) return false;
  }
  return true;
}

function hasRoom(w: WorkerSnapshot): boolean {
  return w.running < w.capacity;
}

function placePinned(job: JobNeeds, pinned: string, workers: readonly WorkerSnapshot[]): Placement {
  const w = workers.find((x) => x.id === pinned);
  if (!w) return { reason: `worker ${pinned} is not registered` };
  if (!hasLabels(w, job.labels)) return { reason: `worker ${w.id} does not have labels ${formatLabels(job.labels)}` };
  if (w.state !== 'up') return { reason: `worker ${w.id} is ${w.state}` };
  if (w.draining) return { reason: `worker ${w.id} is draining` };
  if (!hasRoom(w)) return { reason: `worker ${w.id} is at capacity (${w.running}/${w.capacity} jobs)` };
  return { workerId: w.id };
}

/** Why no worker (none pinned) can take a job with these labels: the first step that leaves none. */
function refusal(labels: Readonly<Record<string, string>>, workers: readonly WorkerSnapshot[]): string {
  const wanted = formatLabels(labels);
  if (workers.length === 0) return 'no worker is registered';
  const labelled = workers.filter((w) => hasLabels(w, labels));
  if (labelled.length === 0) return wanted ? `no worker has labels ${wanted}` : 'no worker is registered';
  const live = labelled.filter((w) => w.state === 'up' && !w.draining);
  const matching = wanted ? `with labels ${wanted} ` : '';
  if (live.length === 0) {
    const draining = labelled.filter((w) => w.state === 'up' && w.draining).length;
    const unreachable = labelled.filter((w) => w.state === 'unreachable').length;
    const notUp = labelled.length - draining - unreachable;
    const parts = [notUp > 0 && `${notUp} down or deregistered`, unreachable > 0 && `${unreachable} unreachable`, draining > 0 && `${draining} draining`]
      .filter(Boolean)
      .join(', ');
    return `no worker ${matching}is up (${parts})`;
  }
  return live.length === 1 ? `the only worker ${matching}is at capacity (${live[0]!.id})` : `all ${live.length} matching workers are at capacity`;
}

/** Rank order: least loaded relative to capacity first, then fewer jobs, then id. */
function ranksBefore(a: WorkerSnapshot, b: WorkerSnapshot): boolean {
  return (a.running / a.capacity - b.running / b.capacity || a.running - b.running || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) < 0;
}
