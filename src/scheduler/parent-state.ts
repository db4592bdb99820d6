import { isFinal, type JobStateName } from './job-state.js';

/**
 * A run_on-all parent's state from its children's. Pure.
 * While any child is live: `running` once any child runs (or is `unknown`: it was running) or
 * has ended (the fan-out is under way), else `dispatched` if any is, else `queued`. When all have ended: the worst ending,
 * failed before timed_out before lost before stopped before skipped, and `succeeded` only when every child did.
 */
const WORST_FIRST: readonly JobStateName[] = ['failed', 'timed_out', 'lost', 'stopped', 'skipped'];

export function parentState(children: readonly JobStateName[]): JobStateName {
  if (children.length === 0) return 'queued';
  const ended = children.filter(isFinal).length;
  if (ended < children.length) {
    if (ended > 0 || children.includes('running') || children.includes('unknown')) return 'running';
    return children.includes('dispatched') ? 'dispatched' : 'queued';
  }
  return WORST_FIRST.find((s) => children.includes(s)) ?? 'succeeded';
}
