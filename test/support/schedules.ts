import assert from 'node:assert/strict';
import { getJson } from './cluster.js';

/** Helpers of the schedule tests. */

export async function call(method: string, url: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, { method, headers: { 'content-type': 'application/json' }, ...(body !== undefined && { body: JSON.stringify(body) }) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

export interface Run {
  id: string;
  state: string;
  schedule: string | null;
  scheduled_for: string | null;
}

export async function runsOf(api: string, name: string): Promise<Run[]> {
  return (await getJson(`${api}/v1/jobs?schedule=${name}&limit=500`)).json.jobs as Run[];
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Each tick once, every second from the first to the last: no gap, no duplicate. */
export function assertEverySecondOnce(runs: Run[]): number[] {
  const ticks = runs.map((r) => Date.parse(r.scheduled_for!)).sort((a, b) => a - b);
  assert.equal(new Set(ticks).size, ticks.length, 'no scheduled_for twice');
  for (let i = 1; i < ticks.length; i++) assert.equal(ticks[i]! - ticks[i - 1]!, 1000, `no tick left out after ${new Date(ticks[i - 1]!).toISOString()}`);
  return ticks;
}
