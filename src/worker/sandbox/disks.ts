/**
 * Finds the whole disks holding the given folders, for disk I/O limits (the reading of
 * st_dev, /proc/self/mountinfo and /sys/dev/block; the decisions are in ./block-device.ts).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { decodeDev, mountSource, parseMountinfo, wholeDisk, type SysBlock } from './block-device.js';

async function sysBlock(device: string): Promise<SysBlock> {
  const dir = `/sys/dev/block/${device}`;
  let real: string;
  try {
    real = await fs.realpath(dir);
  } catch {
    return { kind: 'none' };
  }
  const isPartition = await fs.access(path.join(real, 'partition')).then(
    () => true,
    () => false,
  );
  if (!isPartition) return { kind: 'disk' };
  // A partition's sysfs folder sits inside its disk's, whose `dev` file says "major:minor".
  return { kind: 'partition', parent: (await fs.readFile(path.join(path.dirname(real), 'dev'), 'utf8')).trim() };
}

/** The "major:minor" of the disk holding `dir`, or a sentence saying why there is none. */
export async function diskOf(dir: string): Promise<{ device: string } | { reason: string }> {
  let device = decodeDev((await fs.stat(dir, { bigint: true })).dev);
  let sys = await sysBlock(device);
  if (sys.kind === 'none') {
    const source = mountSource(parseMountinfo(await fs.readFile('/proc/self/mountinfo', 'utf8').catch(() => '')), device, dir);
    if ('reason' in source) return source;
    device = decodeDev((await fs.stat(source.source, { bigint: true })).rdev);
    sys = await sysBlock(device);
  }
  return wholeDisk(device, sys, dir);
}

/**
 * The disks of `dirs` (each once). A folder on tmpfs or the like does no disk I/O and is
 * skipped; only when none of them is on a disk is there nothing to throttle (and the reasons say why).
 */
export async function disksOf(dirs: readonly string[]): Promise<{ devices: string[] } | { reason: string }> {
  const devices: string[] = [];
  const reasons: string[] = [];
  for (const dir of dirs) {
    const found = await diskOf(dir).catch((err: unknown) => ({ reason: `cannot find the disk of ${dir}: ${(err as Error).message}` }));
    if ('reason' in found) reasons.push(found.reason);
    else if (!devices.includes(found.device)) devices.push(found.device);
  }
  return devices.length > 0 ? { devices } : { reason: reasons.join('; ') };
}
