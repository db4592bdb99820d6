/**
 * Which block device holds a folder, for disk I/O limits: the kernel throttles I/O per
 * device ("major:minor") and only on whole disks, not on partitions. Decided from facts
 * read elsewhere (./disks.ts): the folder's st_dev, /proc/self/mountinfo and what
 * /sys/dev/block says about the device. Pure.
 */

/** glibc's major()/minor() of a dev_t. */
export function decodeDev(dev: bigint): string {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

export interface Mountinfo {
  device: string;
  point: string;
  fsType: string;
  source: string;
}

/** /proc/self/mountinfo lines: "36 35 98:0 /root /mnt opts shared:1 - ext3 /dev/root rw". */
export function parseMountinfo(text: string): Mountinfo[] {
  const out: Mountinfo[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const dash = f.indexOf('-');
    if (dash < 6 || f.length < dash + 3) continue;
    out.push({ device: f[2]!, point: f[4]!.replace(/\\040/g, ' '), fsType: f[dash + 1]!, source: f[dash + 2]!.replace(/\\040/g, ' ') });
  }
  return out;
}

/**
 * A file system without a device number of its own (btrfs, or an anonymous 0:N) names its
 * device as the mount's source: the /dev path to look at, or a sentence saying why there is none.
 */
export function mountSource(mounts: readonly Mountinfo[], device: string, dir: string): { source: string } | { reason: string } {
  const mine = mounts.filter((m) => m.device === device);
  const withDev = mine.find((m) => m.source.startsWith('/dev/'));
  if (withDev) return { source: withDev.source };
  const m = mine[0];
  if (m) return { reason: `${dir} is on ${m.fsType} (${m.source}, mounted at ${m.point}), which has no block device` };
  return { reason: `the file system of ${dir} (device ${device}) is not in /proc/self/mountinfo` };
}

/** What /sys/dev/block/<major:minor> shows: absent, a whole disk, or a partition whose disk is `parent`. */
export type SysBlock = { kind: 'none' } | { kind: 'disk' } | { kind: 'partition'; parent: string };

/** The whole disk to throttle for device `device`, or why there is none. */
export function wholeDisk(device: string, sys: SysBlock, dir: string): { device: string } | { reason: string } {
  if (sys.kind === 'disk') return { device };
  if (sys.kind === 'partition') return { device: sys.parent };
  return { reason: `${dir} is on device ${device}, which is not a block device (no /sys/dev/block/${device})` };
}
