import path from 'node:path';

/**
 * Pure path confinement: no file system access. Symlinks are the caller's job
 * (resolve with realpath, then check the result with `isInside` again).
 */

/** True when `candidate` is `root` itself or lies below it. Both must be absolute. */
export function isInside(root: string, candidate: string): boolean {
  const normalRoot = path.resolve(root);
  const normalCandidate = path.resolve(candidate);
  if (normalCandidate === normalRoot) return true;
  // The trailing separator stops "/jobs-evil" from passing as inside "/jobs".
  const prefix = normalRoot.endsWith(path.sep) ? normalRoot : normalRoot + path.sep;
  return normalCandidate.startsWith(prefix);
}

export type Confinement = { ok: true; absolute: string } | { ok: false; reason: 'empty' | 'absolute' | 'outside' | 'invalid' };

/**
 * Where `relative` points inside `root`, judged by its text alone: refuses empty
 * names, absolute paths, NUL bytes and `..` that climbs out of the root.
 */
export function confineLexically(root: string, relative: string): Confinement {
  if (relative === '') return { ok: false, reason: 'empty' };
  if (relative.includes('\0')) return { ok: false, reason: 'invalid' };
  if (path.isAbsolute(relative)) return { ok: false, reason: 'absolute' };
  const absolute = path.resolve(root, relative);
  if (!isInside(root, absolute)) return { ok: false, reason: 'outside' };
  return { ok: true, absolute };
}
