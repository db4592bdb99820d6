/** Pure: the overview's chart of jobs finished per minute, split into succeeded and failed. */

export interface MinuteCounts {
  succeeded: number[];
  /** Every other final state: failed, timed out, lost, stopped. */
  failed: number[];
}

/** Per minute over the last `minutes`, oldest first; jobs not finished are left out. */
export function finishedPerMinute(jobs: ReadonlyArray<{ state: string; finished_at: string | null }>, now: number, minutes = 15): MinuteCounts {
  const succeeded = new Array<number>(minutes).fill(0);
  const failed = new Array<number>(minutes).fill(0);
  for (const job of jobs) {
    if (!job.finished_at) continue;
    const age = Math.floor((now - Date.parse(job.finished_at)) / 60_000);
    if (age < 0 || age >= minutes) continue;
    const bins = job.state === 'succeeded' ? succeeded : failed;
    bins[minutes - 1 - age]!++;
  }
  return { succeeded, failed };
}

/** The top of the y axis: the peak rounded up to 1, 2 or 5 times a power of ten (at least 1), so the ticks are round. */
export function axisTop(peak: number): number {
  if (peak <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(peak));
  for (const step of [1, 2, 5, 10]) if (step * power >= peak) return step * power;
  return 10 * power;
}

/** Ticks of the y axis: 0, the middle (when it is a whole number) and the top. */
export function axisTicks(top: number): number[] {
  return top % 2 === 0 ? [0, top / 2, top] : [0, top];
}
