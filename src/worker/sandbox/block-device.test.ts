import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeDev, mountSource, parseMountinfo, wholeDisk } from './block-device.js';

test('decodeDev', () => {
  const cases: [bigint, string][] = [
    [0xfe00n, '254:0'], // virtio vda
    [0x811n, '8:17'], // sdb1
    [0x110301n, '259:257'], // a minor above 255 keeps its high bits above the major's
    [0x2bn, '0:43'], // an anonymous device (btrfs subvolume, tmpfs)
  ];
  for (const [dev, expected] of cases) assert.equal(decodeDev(dev), expected, dev.toString(16));
});

const MOUNTINFO = `27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
60 27 0:43 / /data rw,relatime shared:7 - btrfs /dev/sdb2 rw,ssd
61 27 0:44 /sub /srv/my\\040jobs rw - btrfs /dev/sdb2 rw
62 27 0:45 / /overlay rw - overlay overlay rw,lowerdir=/a`;

test('parseMountinfo and mountSource', () => {
  const mounts = parseMountinfo(MOUNTINFO);
  assert.equal(mounts.length, 5);
  assert.deepEqual(mounts[3], { device: '0:44', point: '/srv/my jobs', fsType: 'btrfs', source: '/dev/sdb2' });
  const cases: [string, { source: string } | { reason: string }][] = [
    ['0:43', { source: '/dev/sdb2' }],
    ['0:28', { reason: '/x is on tmpfs (tmpfs, mounted at /sys/fs/cgroup), which has no block device' }],
    ['0:45', { reason: '/x is on overlay (overlay, mounted at /overlay), which has no block device' }],
    ['0:99', { reason: 'the file system of /x (device 0:99) is not in /proc/self/mountinfo' }],
  ];
  for (const [device, expected] of cases) assert.deepEqual(mountSource(mounts, device, '/x'), expected, device);
});

test('wholeDisk', () => {
  assert.deepEqual(wholeDisk('254:0', { kind: 'disk' }, '/x'), { device: '254:0' });
  assert.deepEqual(wholeDisk('8:17', { kind: 'partition', parent: '8:16' }, '/x'), { device: '8:16' });
  assert.deepEqual(wholeDisk('0:43', { kind: 'none' }, '/x'), { reason: '/x is on device 0:43, which is not a block device (no /sys/dev/block/0:43)' });
});
