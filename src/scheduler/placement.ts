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
  const feasible = filter(job, workers);
  if ('reason' in feasible) return feasible;
  const [best] = rank(feasible.candidates);
  return { workerId: best!.id };
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
  return Object.entries(wanted).every(([k, v]) => Object.hasOwn(worker.labels, k) && worker.labels[k] === v);
}

function hasRoom(w: WorkerSnapshot): boolean {
  return w.running < w.capacity;
}

function filter(job: JobNeeds, workers: readonly WorkerSnapshot[]): { candidates: WorkerSnapshot[] } | { reason: string } {
  const wanted = formatLabels(job.labels);
  if (job.pinnedWorker !== undefined) {
    const w = workers.find((x) => x.id === job.pinnedWorker);
    if (!w) return { reason: `worker ${job.pinnedWorker} is not registered` };
    if (!hasLabels(w, job.labels)) return { reason: `worker ${w.id} does not have labels ${wanted}` };
    if (w.state !== 'up') return { reason: `worker ${w.id} is ${w.state}` };
    if (w.draining) return { reason: `worker ${w.id} is draining` };
    if (!hasRoom(w)) return { reason: `worker ${w.id} is at capacity (${w.running}/${w.capacity} jobs)` };
    return { candidates: [w] };
  }
  if (workers.length === 0) return { reason: 'no worker is registered' };
  const labelled = workers.filter((w) => hasLabels(w, job.labels));
  if (labelled.length === 0) return { reason: wanted ? `no worker has labels ${wanted}` : 'no worker is registered' };
  const live = labelled.filter((w) => w.state === 'up' && !w.draining);
  const matching = wanted ? `with labels ${wanted} ` : '';
  if (live.length === 0) {
    const draining = labelled.filter((w) => w.state === 'up' && w.draining).length;
    const unreachable = labelled.filter((w) => w.state === 'unreachable').length;
    const notUp = labelled.length - draining - unreachable;
    const parts = [notUp > 0 && `${notUp} down or deregistered`, unreachable > 0 && `${unreachable} unreachable`, draining > 0 && `${draining} draining`]
      .filter(Boolean)
      .join(', ');
    return { reason: `no worker ${matching}is up (${parts})` };
  }
  const withRoom = live.filter(hasRoom);
  if (withRoom.length === 0) {
    return { reason: live.length === 1 ? `the only worker ${matching}is at capacity (${live[0]!.id})` : `all ${live.length} matching workers are at capacity` };
  }
  return { candidates: withRoom };
}

/** Least loaded relative to capacity first, then fewer jobs, then id. */
function rank(candidates: WorkerSnapshot[]): WorkerSnapshot[] {
  return [...candidates].sort((a, b) => a.running / a.capacity - b.running / b.capacity || a.running - b.running || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
