import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

const WORKER_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function checkWorkerId(id: string, source: string): string {
  if (!WORKER_ID.test(id)) throw new Error(`worker id "${id}" from ${source} is not valid: use up to 64 letters, digits, ".", "_" or "-"`);
  return id;
}

/**
 * The worker's stable identity: `explicit` (--id) when given, else the id kept in
 * `<dataDir>/worker-id`, created on first start, so a restarted worker keeps its id.
 */
export async function loadWorkerId(dataDir: string, explicit: string | undefined): Promise<string> {
  if (explicit !== undefined && explicit !== '') return checkWorkerId(explicit, '--id');
  const file = path.join(dataDir, 'worker-id');
  try {
    return checkWorkerId((await fs.readFile(file, 'utf8')).trim(), file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const id = `w-${randomBytes(4).toString('hex')}`;
  await fs.mkdir(dataDir, { recursive: true });
  await fs.writeFile(file, `${id}\n`, { flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
    // Another worker on the same data folder won the race; use its id.
    if (err.code !== 'EEXIST') throw err;
  });
  return checkWorkerId((await fs.readFile(file, 'utf8')).trim(), file);
}
