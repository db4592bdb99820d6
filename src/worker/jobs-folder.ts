import { constants, promises as fs, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { BatonError, echo } from '../common/errors.js';
import { confineLexically, isInside } from './paths.js';

/**
 * Resolves the names a StartJob request gives (path, cwd, command) to real files
 * inside the jobs folder. Symlinks are followed with realpath and the result checked
 * again, so a link pointing outside the folder is refused like a `..` escape.
 */
export class JobsFolder {
  private constructor(readonly root: string) {}

  /** `dir` must exist; its real path becomes the root every name is confined to. */
  static async open(dir: string): Promise<JobsFolder> {
    try {
      const root = await fs.realpath(dir);
      if (!(await fs.stat(root)).isDirectory()) throw new Error('not a folder');
      return new JobsFolder(root);
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : (err as Error).message;
      throw new Error(`jobs folder ${path.resolve(dir)} ${reason}: create it or point --jobs-dir at the folder holding your job scripts`);
    }
  }

  /**
   * `what` names the field in messages: `path "../x" is outside the jobs folder`. A message names
   * the path as the caller gave it and never where it leads on this machine: the folder's
   * absolute path and a link's target are the worker's to know.
   */
  async resolve(what: string, name: string): Promise<string> {
    const lexical = confineLexically(this.root, name);
    const given = `${what} "${echo(name)}"`;
    if (!lexical.ok) {
      if (lexical.reason === 'empty') throw new BatonError('BAD_REQUEST', `${what} is empty`);
      if (lexical.reason === 'invalid') throw new BatonError('BAD_REQUEST', `${what} contains a NUL byte`);
      throw new BatonError('BAD_REQUEST', `${given} is outside the jobs folder`);
    }
    let real: string;
    try {
      // Synchronous, here and in the stat checks: two local look-ups of a few µs each,
      // where the asynchronous calls cost two thread-pool round trips on every job start.
      real = realpathSync.native(lexical.absolute);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new BatonError('BAD_REQUEST', `${given} does not exist in the jobs folder`);
      // The error's own message quotes the absolute path.
      throw new BatonError('BAD_REQUEST', `${given} cannot be read (${code ?? 'unknown error'})`);
    }
    if (!isInside(this.root, real)) throw new BatonError('BAD_REQUEST', `${given} is outside the jobs folder (through a symbolic link)`);
    return real;
  }

  async resolveFile(what: string, name: string): Promise<string> {
    const real = await this.resolve(what, name);
    if (!statSync(real).isFile()) throw new BatonError('BAD_REQUEST', `${what} "${echo(name)}" is not a file`);
    return real;
  }

  /** Empty means the jobs folder itself. */
  async resolveDirectory(what: string, name: string): Promise<string> {
    if (name === '') return this.root;
    const real = await this.resolve(what, name);
    if (!statSync(real).isDirectory()) throw new BatonError('BAD_REQUEST', `${what} "${echo(name)}" is not a folder`);
    return real;
  }

  /** A command with a '/' is a program inside the jobs folder, such as "./run.sh". */
  async resolveExecutable(command: string): Promise<string> {
    const real = await this.resolveFile('command', command);
    if (!(await isExecutable(real))) throw new BatonError('COMMAND_NOT_EXECUTABLE', `permission denied: ${echo(command)} is not executable (chmod +x it)`);
    return real;
  }
}

export async function isExecutable(file: string): Promise<boolean> {
  try {
    const stat = await fs.stat(file);
    if (!stat.isFile()) return false;
    await fs.access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
