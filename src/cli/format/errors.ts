import { BatonApiError, BatonConnectionError } from '../../client/index.js';

/** Pure: any failure → the one line `baton` prints (after "baton: "), saying what to do when it can. */
export function describeError(err: unknown): string {
  let line: string;
  if (err instanceof BatonConnectionError) line = err.message;
  else if (err instanceof BatonApiError) line = describeApiError(err);
  else if (err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError')) line = 'interrupted';
  else if (err instanceof Error) line = err.message;
  else line = String(err);
  return line.replace(/\s*\n\s*/g, ' ').trim();
}

/** The scheduler's words, and what to do next where the code says it. */
function describeApiError(err: BatonApiError): string {
  switch (err.code) {
    case 'unauthenticated':
      return `${err.message} (pass --token or set BATON_TOKEN)`;
    case 'forbidden':
      return `${err.message} (the token is not allowed to do this)`;
    case 'job_not_found':
      return `${err.message} (\`baton ps\` lists jobs)`;
    case 'worker_not_found':
      return `${err.message} (\`baton workers\` lists workers)`;
    case 'worker_down':
      return `${err.message} (\`baton workers\` shows which are up)`;
    default:
      return err.message;
  }
}
