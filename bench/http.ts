/**
 * The load generator's HTTP client. It must cost the machine as little as it can: node:http
 * with kept-alive connections uses a fraction of the CPU of fetch() per request.
 */
import http from 'node:http';

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** A JSON request; rejects on a status of 400 or more, naming it. */
export function request<T = Record<string, unknown>>(method: string, url: string, body?: unknown): Promise<T> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers = payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) };
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        if (res.statusCode! >= 400) reject(new Error(`${method} ${url} answered ${res.statusCode}: ${text.slice(0, 300)}`));
        else resolve(JSON.parse(text) as T);
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

export const post = <T = Record<string, unknown>>(url: string, body: unknown): Promise<T> => request<T>('POST', url, body);
export const get = <T = Record<string, unknown>>(url: string): Promise<T> => request<T>('GET', url);

interface Page {
  jobs: { created_at: string; updated_at: string; state: string }[];
  next_cursor: string | null;
}

/** Every job of a listing (`query` like "state=succeeded"), page by page. */
export async function allJobs(api: string, query = ''): Promise<Page['jobs']> {
  const jobs: Page['jobs'] = [];
  let cursor: string | null = null;
  do {
    const page: Page = await get<Page>(`${api}/v1/jobs?limit=500${query ? `&${query}` : ''}${cursor ? `&cursor=${cursor}` : ''}`);
    jobs.push(...page.jobs);
    cursor = page.next_cursor;
  } while (cursor);
  return jobs;
}

/** Waits until no job is queued, dispatched or running. */
export async function waitIdle(api: string, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let busy = 0;
    for (const state of ['queued', 'dispatched', 'running']) busy += (await get<Page>(`${api}/v1/jobs?state=${state}&limit=1`)).jobs.length;
    if (busy === 0) return;
    if (Date.now() > deadline) throw new Error(`jobs did not finish within ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Latest time the scheduler recorded a change, over the jobs of a listing. */
export async function lastRecorded(api: string): Promise<number> {
  return latestUpdate(await allJobs(api));
}

/** Latest `updated_at` of `jobs`, in ms (0 for none). */
export function latestUpdate(jobs: Page['jobs']): number {
  return jobs.reduce((latest, j) => Math.max(latest, Date.parse(j.updated_at)), 0);
}
