/** Pure: the dashboard's address after the `#`, read and written (`#/jobs?state=failed&worker=w1`). */

export interface Route {
  /** `#/jobs/ID` → ['jobs', 'ID'] (decoded); `#/` → []. */
  path: string[];
  /** The query after `?`, empty values left out. */
  params: Record<string, string>;
}

export function parseRoute(hash: string): Route {
  const text = hash.startsWith('#') ? hash.slice(1) : hash;
  const q = text.indexOf('?');
  const pathText = q === -1 ? text : text.slice(0, q);
  const params: Record<string, string> = {};
  if (q !== -1) {
    for (const [k, v] of new URLSearchParams(text.slice(q + 1))) if (v !== '') params[k] = v;
  }
  const path = pathText
    .split('/')
    .filter(Boolean)
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  return { path, params };
}

/** `('jobs', {state: 'failed', worker: ''})` → `#/jobs?state=failed`: blank values are left out, so an unfiltered list has a plain address. */
export function routeHash(path: readonly string[], params: Record<string, string | undefined> = {}): string {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') query.set(k, v);
  const qs = query.toString();
  return `#/${path.map(encodeURIComponent).join('/')}${qs ? `?${qs}` : ''}`;
}
