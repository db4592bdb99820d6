import { promises as fs, statSync } from 'node:fs';
import path from 'node:path';

export interface OutputSize {
  bytes: number;
  /** True when this check cut the file back to the cap. */
  truncated: boolean;
}

/**
 * Job output files, `<dataDir>/output/<job_id>.log`. The job's processes write them
 * directly; the spawner creates them (O_APPEND|O_TRUNC, see spawner/spawner-main.ts),
 * the worker caps, streams and deletes them.
 */
export class OutputFiles {
  readonly dir: string;

  constructor(
    dataDir: string,
    readonly capBytes: number,
  ) {
    this.dir = path.join(dataDir, 'output');
  }

  async init(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
  }

  pathFor(jobId: string): string {
    return path.join(this.dir, `${jobId}.log`);
  }

  /** The job's stdin, written by the worker, opened and removed by the supervisor as it starts the job. */
  stdinPathFor(jobId: string): string {
    return path.join(this.dir, `${jobId}.stdin`);
  }

  /**
   * Cuts the file back to the cap when the job wrote more; the job keeps running.
   * Called at every job's end and for each running job every few seconds: the size comes
   * from a synchronous stat of a local file (~6 µs of CPU here, against ~70 µs and a
   * thread-pool round trip for the promise API).
   */
  async enforceCap(jobId: string): Promise<OutputSize> {
    const file = this.pathFor(jobId);
    let size: number;
    try {
      size = statSync(file).size;
    } catch {
      return { bytes: 0, truncated: false };
    }
    if (size <= this.capBytes) return { bytes: size, truncated: false };
    await fs.truncate(file, this.capBytes);
    return { bytes: this.capBytes, truncated: true };
  }

  /** Bytes a reader can get now: the file's size, never more than the cap. */
  async currentSize(jobId: string): Promise<number> {
    try {
      return Math.min(this.capBytes, (await fs.stat(this.pathFor(jobId))).size);
    } catch {
      return 0;
    }
  }

  async remove(jobId: string): Promise<void> {
    await fs.rm(this.pathFor(jobId), { force: true });
  }

  /** Deletes output files not written for `maxAgeMs` (left by earlier runs of this worker). */
  async removeOlderThan(maxAgeMs: number): Promise<number> {
    const cutoff = Date.now() - maxAgeMs;
    let removed = 0;
    for (const name of await fs.readdir(this.dir)) {
      if (!name.endsWith('.log')) continue;
      const file = path.join(this.dir, name);
      try {
        if ((await fs.stat(file)).mtimeMs < cutoff) {
          await fs.rm(file, { force: true });
          removed++;
        }
      } catch {
        // Vanished meanwhile: nothing to clean.
      }
    }
    return removed;
  }
}
