import { JobState as WorkerJobState } from '../gen/baton/v1/common.js';

/**
 * The job lifecycle, in one table: every state a job (or one of its attempts) can be in, and
 * every named transition with the states it may start from and the states it may end in.
 * Pure: no I/O, so the table test beside it covers every state × transition pair, and the
 * store makes `from` part of each conditional UPDATE.
 *
 * `queued → dispatched → running → succeeded | failed | stopped | timed_out | lost`, and
 * `unknown` while the worker of a dispatched or running attempt has stopped answering: not
 * final, it goes back to `running` when the worker returns in time, or ends `lost`. `waiting`:
 * not final, before `queued`, while the jobs it depends on (`after`) have not all ended.
 * `skipped`: final, the job never ran because a rule said so (a job it depends on ended in a
 * way that fails its condition, or its concurrency key was at its limit with on_limit skip).
 */
export const JOB_STATES = ['waiting', 'queued', 'dispatched', 'running', 'unknown', 'succeeded', 'failed', 'stopped', 'timed_out', 'lost', 'skipped'] as const;
export type JobStateName = (typeof JOB_STATES)[number];

export const FINAL_STATES: readonly JobStateName[] = ['succeeded', 'failed', 'stopped', 'timed_out', 'lost', 'skipped'];

/** States of an attempt that lives on a worker (placed and not ended). */
const ON_WORKER: readonly JobStateName[] = ['dispatched', 'running', 'unknown'];
/** What an attempt on a worker can end with, by the worker's word (`lost`: it no longer has it). */
const ENDINGS: readonly JobStateName[] = ['succeeded', 'failed', 'stopped', 'timed_out', 'lost'];

export interface Transition {
  /** The states it may start from; [] for creation (no state before). */
  from: readonly JobStateName[];
  /** The states it may end in; most transitions have one. */
  to: readonly JobStateName[];
}

/**
 * Every way a job's state changes. The attempt follows the job, but for `retry`, where the
 * attempt ends (failed, timed out or lost: its outcome) and the job is queued for the next one.
 */
export const TRANSITIONS = {
  /** A new job, waiting for a placement, or first for the jobs it depends on. */
  create: { from: [], to: ['queued', 'waiting'] },
  /** Every job it depends on ended as its condition asks: it waits for a placement now. */
  release: { from: ['waiting'], to: ['queued'] },
  /** A new job placed before it was stored. */
  createPlaced: { from: [], to: ['dispatched'] },
  /** The dispatcher chose a worker; the start is sent once this is stored. */
  dispatch: { from: ['queued'], to: ['dispatched'] },
  /** The worker refused the start for lack of room, or never received it: the same attempt waits again. */
  unplace: { from: ['dispatched'], to: ['queued'] },
  /** The worker reports the attempt running. */
  start: { from: ['dispatched'], to: ['running'] },
  /**
   * The worker reports the attempt ended, or answers that it does not have it (lost: it restarted
   * without it); a worker that returned within the window may report its end from `unknown`.
   */
  finish: { from: ON_WORKER, to: ENDINGS },
  /** The worker stopped answering (its lease ran out, or its streams broke). */
  disconnect: { from: ['dispatched', 'running'], to: ['unknown'] },
  /** The worker answered again, still running the attempt. */
  reconnect: { from: ['unknown'], to: ['running'] },
  /** Given up on: the worker stayed silent past the window (--lost-after). Final: a late report changes nothing. */
  lose: { from: ['unknown'], to: ['lost'] },
  /** The attempt ended badly and the retry policy asks for another: the job waits for attempt n+1. */
  retry: { from: ON_WORKER, to: ['queued'] },
  /** Stopped before any worker had it. */
  stop: { from: ['waiting', 'queued'], to: ['stopped'] },
  /** Never run: a job it depends on failed its condition, or its concurrency key was at its limit and it asked to be skipped then. */
  skip: { from: ['waiting', 'queued'], to: ['skipped'] },
  /** A run_on-all parent's state, summed up from its children's (parent-state.ts). */
  summarise: { from: ['queued', 'dispatched', 'running'], to: ['queued', 'dispatched', 'running', ...FINAL_STATES] },
} as const satisfies Record<string, Transition>;

export type TransitionName = keyof typeof TRANSITIONS;
export const TRANSITION_NAMES = Object.keys(TRANSITIONS) as TransitionName[];

export function isJobState(value: string): value is JobStateName {
  return (JOB_STATES as readonly string[]).includes(value);
}

export function isFinal(state: JobStateName): boolean {
  return FINAL_STATES.includes(state);
}

/** The states `name` may move a job to `to` from (staying put is never a transition): what the store puts in its UPDATE's WHERE. */
export function fromStates(name: TransitionName, to: JobStateName): JobStateName[] {
  const t: Transition = TRANSITIONS[name];
  return t.to.includes(to) ? t.from.filter((from) => from !== to) : [];
}

/** The worker's view of an attempt → the job state it implies; null for values that carry no state. */
export function fromWorkerState(state: WorkerJobState): JobStateName | null {
  switch (state) {
    case WorkerJobState.JOB_STATE_STARTING:
      return 'dispatched';
    case WorkerJobState.JOB_STATE_RUNNING:
      return 'running';
    case WorkerJobState.JOB_STATE_SUCCEEDED:
      return 'succeeded';
    case WorkerJobState.JOB_STATE_FAILED:
      return 'failed';
    case WorkerJobState.JOB_STATE_STOPPED:
      return 'stopped';
    case WorkerJobState.JOB_STATE_TIMED_OUT:
      return 'timed_out';
    case WorkerJobState.JOB_STATE_LOST:
      return 'lost';
    default:
      return null;
  }
}

/** The transition a worker's report of `state` asks for ('start' for running: `reconnect` when the job is `unknown`). */
export function reportTransition(state: JobStateName): TransitionName | null {
  if (state === 'running') return 'start';
  return ENDINGS.includes(state) ? 'finish' : null;
}
