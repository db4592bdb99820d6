/**
 * What the output copy costs a job, the addon alone (no worker, no readers sharing the CPU):
 * a job writing BENCH_OUTPUT_MIB as fast as it can (`head -c` of /dev/zero) straight to a
 * file, through the one pipe of pipeCopy, and through pipeCopySplit's two pipes with the
 * runs beside the file (stdout and stderr kept apart), in interleaved rounds, best of each.
 */
import { closeSync, openSync, rmSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../test/support/cluster.js';
import { loadNativeSpawn } from '../src/worker/spawner/native-spawn.js';
import { fmt, type Row } from './report.js';

const MIB = 1024 * 1024;
const ROUNDS = 5;
type Way = 'file' | 'one pipe' | 'two pipes (split)';
const WAYS: Way[] = ['file', 'one pipe', 'two pipes (split)'];

/** Milliseconds from the start of a job writing `bytes` to its exit and its copy's end. */
function timeJob(dir: string, way: Way, bytes: number): Promise<number> {
  const native = loadNativeSpawn();
  const output = path.join(dir, 'out.log');
  const runs = path.join(dir, 'out.runs');
  const fd = openSync(output, 'w+');
  const runsFd = openSync(runs, 'w');
  return new Promise((resolve) => {
    const started = performance.now();
    let waiting = way === 'file' ? 1 : 2;
    const done = (): void => {
      if (--waiting > 0) return;
      resolve(performance.now() - started);
      rmSync(output);
      rmSync(runs);
    };
    const cap = bytes + MIB; // under the cap: what a job's normal output costs
    let fds: [number, number] = [fd, fd];
    if (way === 'one pipe') {
      const w = native.pipeCopy!(fd, cap, 0, done);
      fds = [w, w];
    } else if (way === 'two pipes (split)') {
      fds = native.pipeCopySplit!(fd, runsFd, cap, 0, done);
    }
    native.spawn('/bin/sh', ['sh', '-c', `head -c ${bytes} /dev/zero`], ['PATH=/usr/bin:/bin'], dir, fds[0], undefined, undefined, done, -1, fds[1]);
    for (const f of new Set([fd, runsFd, ...fds])) closeSync(f);
  });
}

export async function pipeSpeedRows(sizeMiB: number): Promise<Row[]> {
  const dir = tempDir('baton-bench-pipes-');
  const best = new Map<Way, number>(WAYS.map((w) => [w, Number.POSITIVE_INFINITY]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const way of WAYS) best.set(way, Math.min(best.get(way)!, await timeJob(dir, way, sizeMiB * MIB)));
  }
  const speed = (way: Way): number => sizeMiB / (best.get(way)! / 1000);
  const split = speed('two pipes (split)');
  return [
    {
      measure: `job writing ${sizeMiB} MiB, addon alone: split copy vs to a file (best of ${ROUNDS})`,
      figure: `${fmt(split)} vs ${fmt(speed('file'))} MiB/s (${fmt((split / speed('file')) * 100)}%; one pipe ${fmt(speed('one pipe'))} MiB/s)`,
      target: 'at least 80%',
      met: split >= speed('file') * 0.8,
    },
  ];
}
