// The module hooks of no-db-drivers.ts (they run on the loader's own thread).
const BLOCKED = new Set(['better-sqlite3', 'pg']);

type NextResolve = (specifier: string, context: unknown) => Promise<unknown>;

export async function resolve(specifier: string, context: unknown, next: NextResolve): Promise<unknown> {
  const name = specifier.split('/')[0]!;
  if (BLOCKED.has(name)) throw Object.assign(new Error(`Cannot find package '${name}' (left out, as with --omit=optional)`), { code: 'ERR_MODULE_NOT_FOUND' });
  return next(specifier, context);
}
