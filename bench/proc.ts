/** What /proc says about a process: CPU time and memory. Linux only. */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const TICKS_PER_S = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** User + system CPU seconds the process has used (not its children). */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
}

/** Resident memory, MiB. */
export function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1] ?? NaN) / 1024;
}

/**
 * After start-up, a Baton process's log lines are read and dropped instead of parsed and
 * kept (what the test helpers do): at thousands of lines a second that parsing took a share
 * of the CPU the processes measured need, and the bench process grew without bound.
 */
export function dropLogs<T extends { child: { stdout: NodeJS.ReadableStream | null } }>(p: T): T {
  const out = p.child.stdout!;
  out.removeAllListeners('data');
  out.on('data', () => undefined);
  return p;
}
