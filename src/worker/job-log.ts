import type { Logger } from '../common/logger.js';
import { stateName } from './exit-status.js';
import type { JobTable } from './job-table.js';

/** One log line per job state change ("job running", "job failed", ...), with the facts to act on. */
export function logJobChanges(table: JobTable, log: Logger): void {
  table.subscribe(({ status, previousState }) => {
    const fields = {
      job_id: status.jobId,
      state: stateName(status.state),
      ...(status.pid ? { pid: status.pid } : {}),
      ...(status.exitCode !== undefined ? { exit_code: status.exitCode } : {}),
      ...(status.signal ? { signal: status.signal } : {}),
      ...(status.error ? { error: status.error } : {}),
    };
    if (status.state === previousState) {
      if (status.outputTruncated) log.warn({ ...fields, output_bytes: status.outputBytes }, 'job output reached the cap; later output is cut (raise --output-cap to keep more)');
      return;
    }
    // A job's own failure (exit 7, command not found) is its outcome, not a problem of this worker.
    log.info(fields, `job ${stateName(status.state)}`);
  });
}
