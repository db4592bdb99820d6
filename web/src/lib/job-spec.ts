import type { Job, SubmitJobRequest } from '../../../src/client/index.js';

/**
 * Pure: the submit request that runs a job again, as it was asked for: the same command, script,
 * arguments, environment, folder, labels, priority, retries, timeout,
 * concurrency rule, dependencies and name; pinned to the same worker
 * when it was pinned (a run_on-all copy is), and on every matching worker when it was a run_on-all parent.
 * What the API's job does not show (resource limits, isolation, network, the stdin bytes) is not copied.
 */
export function rerunRequest(job: Job): SubmitJobRequest {
  const request: SubmitJobRequest = { command: job.command, args: [...job.args] };
  if (job.path) request.path = job.path;
  if (job.pinned && job.worker_id) request.worker_id = job.worker_id;
  if (Object.keys(job.labels).length > 0) request.labels = { ...job.labels };
  if (job.priority !== 0) request.priority = job.priority;
  if (job.retry.max_attempts > 1) request.retry = { max_attempts: job.retry.max_attempts, backoff: { ...job.retry.backoff }, on: [...job.retry.on] };
  if (Object.keys(job.env).length > 0) request.env = { ...job.env };
  if (job.cwd) request.cwd = job.cwd;
  if (job.timeout !== null) request.timeout = job.timeout;
  if (job.children.length > 0 && job.parent_id === null) request.run_on = 'all';
  if (job.concurrency) request.concurrency = { ...job.concurrency };
  if (job.after.length > 0) {
    request.after = [...job.after];
    request.after_condition = job.after_condition;
  }
  if (job.name !== null) request.name = job.name;
  return request;
}
