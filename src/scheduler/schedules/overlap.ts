/**
 * Pure: what a tick does when the schedule's previous run may still be going.
 *
 * - `skip` (default): the tick does not run while the previous run is live.
 * - `allow`: it runs beside it.
 * - `buffer_one`: it waits, and runs once the previous run ends; at most one waits (later ticks are skipped).
 * - `cancel_previous`: the previous run is stopped, and the tick runs.
 */
export const OVERLAP_POLICIES = ['skip', 'allow', 'buffer_one', 'cancel_previous'] as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

export type OverlapDecision = 'run' | 'skip' | 'buffer' | 'cancel_previous_and_run';

export function decideOverlap(policy: OverlapPolicy, previousLive: boolean, pendingBuffered: boolean): OverlapDecision {
  if (!previousLive) return 'run';
  switch (policy) {
    case 'skip':
      return 'skip';
    case 'allow':
      return 'run';
    case 'buffer_one':
      return pendingBuffered ? 'skip' : 'buffer';
    case 'cancel_previous':
      return 'cancel_previous_and_run';
  }
}
