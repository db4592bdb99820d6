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

function describeApiError(err: BatonApiError): string {
  switch (err.status) {
    case 401:
      return `${err.message} (pass --token or set BATON_TOKEN)`;
    case 403:
      return `${err.message} (the token is not allowed to do this)`;
    case 404:
      // "job "x" not found" → also say how to find the right id
      return /^job /.test(err.message)
        ? `${err.message} (\`baton ps\` lists jobs)`
        : /^worker /.test(err.message)
          ? `${err.message} (\`baton workers\` lists workers)`
          : err.message;
    default:
      return err.message;
  }
}
