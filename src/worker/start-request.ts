import type { StartJobRequest } from '../gen/baton/v1/worker.js';

/**
 * Pure checks of a StartJob request's shape, before any file system look-up.
 * Each returns a sentence for the caller, or undefined when the request is fine.
 */

// The job id names the output file, so it must be a plain file name (UUIDv7 ids pass).
const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
// POSIX environment names; '=' or NUL in a name would make spawn throw.
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function startRequestProblem(request: StartJobRequest): string | undefined {
  if (request.jobId === '') return 'job_id is empty: the scheduler must assign one';
  if (!JOB_ID.test(request.jobId)) {
    return `job_id "${request.jobId}" is not valid: use up to 128 letters, digits, ".", "_" or "-"`;
  }
  if (request.command.trim() === '') return 'command is empty: give a program to run, such as "bash"';
  if (request.command.includes('\0')) return 'command contains a NUL byte';
  if (request.args.some((arg) => arg.includes('\0'))) return 'an argument contains a NUL byte';
  for (const [name, value] of Object.entries(request.env)) {
    if (!ENV_NAME.test(name)) return `environment variable name "${name}" is not valid: use letters, digits and "_"`;
    if (value.includes('\0')) return `environment variable ${name} contains a NUL byte`;
  }
  return undefined;
}

// Only these pass from the worker's environment to jobs: the worker's own secrets
// (tokens, keys, cloud credentials) must not leak into the commands it runs.
const INHERITED_ENV = ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'] as const;

export const FALLBACK_PATH = '/usr/local/bin:/usr/bin:/bin';

/** The environment a job runs with: a minimal base, its id, then what the job asked for. */
export function jobEnvironment(workerEnv: NodeJS.ProcessEnv, jobId: string, jobEnv: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { PATH: FALLBACK_PATH };
  for (const name of INHERITED_ENV) {
    const value = workerEnv[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, BATON_JOB_ID: jobId, ...jobEnv };
}
