import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseCgroups, jobCgroupDirs, limitWrites, memoryExceededMessage, noCgroupsMessage, oomKills, type CgroupChoice, type CgroupFacts } from './cgroup-layout.js';

// As on the machines this was written on: v1 hierarchies, an empty cgroup2 at /sys/fs/cgroup/unified.
const HYBRID_MOUNTS = `tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0
cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0
cgroup /sys/fs/cgroup/cpuacct cgroup rw,relatime,cpuacct 0 0
cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0
cgroup /sys/fs/cgroup/pids cgroup rw,relatime,pids 0 0
cgroup /sys/fs/cgroup/blkio cgroup rw,relatime,blkio 0 0
cgroup /sys/fs/cgroup/systemd cgroup rw,relatime,name=systemd 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0`;
const HYBRID_SELF = `9:name=systemd:/
8:pids:/
7:blkio:/jobs
4:memory:/process_api/abc
1:cpu:/
0::/`;
const V2_MOUNTS = 'cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate 0 0';
const SYSTEMD_V1 = `cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,nodev,noexec,relatime,cpu,cpuacct 0 0
cgroup /sys/fs/cgroup/memory cgroup rw,nosuid,nodev,noexec,relatime,memory 0 0`;

test('chooseCgroups', () => {
  const cases: [string, CgroupFacts, CgroupChoice][] = [
    [
      'hybrid, cgroup2 without controllers: v1 under the worker’s own cgroups',
      { mounts: HYBRID_MOUNTS, selfCgroup: HYBRID_SELF, v2Controllers: { '/sys/fs/cgroup/unified': '' } },
      { version: 1, base: { memory: '/sys/fs/cgroup/memory/process_api/abc', cpu: '/sys/fs/cgroup/cpu', pids: '/sys/fs/cgroup/pids', io: '/sys/fs/cgroup/blkio/jobs' } },
    ],
    [
      'unified v2 with controllers',
      { mounts: V2_MOUNTS, selfCgroup: '0::/system.slice/baton.service', v2Controllers: { '/sys/fs/cgroup': 'cpuset cpu io memory hugetlb pids rdma misc' } },
      { version: 2, base: '/sys/fs/cgroup', controllers: ['memory', 'cpu', 'pids', 'io'] },
    ],
    [
      'v2 with only memory delegated',
      { mounts: V2_MOUNTS, selfCgroup: '0::/', v2Controllers: { '/sys/fs/cgroup': 'memory' } },
      { version: 2, base: '/sys/fs/cgroup', controllers: ['memory'] },
    ],
    [
      'v1 with cpu,cpuacct co-mounted, no pids',
      { mounts: SYSTEMD_V1, selfCgroup: '3:cpu,cpuacct:/system.slice\n2:memory:/system.slice', v2Controllers: {} },
      { version: 1, base: { cpu: '/sys/fs/cgroup/cpu,cpuacct/system.slice', memory: '/sys/fs/cgroup/memory/system.slice' } },
    ],
    [
      'v2 mount that cannot be read, nothing else',
      { mounts: V2_MOUNTS, selfCgroup: '0::/', v2Controllers: {} },
      { version: 0, reason: '/sys/fs/cgroup/cgroup.controllers cannot be read; no cgroup v1 hierarchy of memory, cpu, pids or blkio is mounted' },
    ],
    [
      'nothing mounted',
      { mounts: 'proc /proc proc rw 0 0', selfCgroup: '', v2Controllers: {} },
      { version: 0, reason: 'no cgroup2 file system is mounted; no cgroup v1 hierarchy of memory, cpu, pids or blkio is mounted' },
    ],
    [
      'empty cgroup2 only',
      { mounts: 'cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0', selfCgroup: '0::/', v2Controllers: { '/sys/fs/cgroup/unified': '\n' } },
      { version: 0, reason: 'the cgroup2 mount at /sys/fs/cgroup/unified has no controllers enabled; no cgroup v1 hierarchy of memory, cpu, pids or blkio is mounted' },
    ],
  ];
  for (const [name, facts, expected] of cases) assert.deepEqual(chooseCgroups(facts), expected, name);
});

test('jobCgroupDirs and limitWrites', () => {
  const v1: CgroupChoice = { version: 1, base: { memory: '/cg/memory/me', cpu: '/cg/cpu', pids: '/cg/pids' } };
  const v2: CgroupChoice = { version: 2, base: '/cg2', controllers: ['memory', 'cpu', 'pids', 'io'] };
  assert.deepEqual(jobCgroupDirs(v1, 'w-1', 'j1', { memoryBytes: 64 << 20, pids: 10 }), ['/cg/memory/me/baton/w-1/j1', '/cg/pids/baton/w-1/j1']);
  assert.deepEqual(jobCgroupDirs(v1, 'w-1', 'j1', {}), []);
  assert.deepEqual(jobCgroupDirs(v2, 'w-1', 'j1', { memoryBytes: 64 << 20, cpu: 1, pids: 10 }), ['/cg2/baton/w-1/j1']);
  assert.deepEqual(limitWrites(v1, 'w-1', 'j1', { memoryBytes: 67108864, cpu: 0.5, pids: 20 }), [
    { file: '/cg/memory/me/baton/w-1/j1/memory.limit_in_bytes', value: '67108864' },
    { file: '/cg/memory/me/baton/w-1/j1/memory.memsw.limit_in_bytes', value: '67108864', optional: true },
    { file: '/cg/cpu/baton/w-1/j1/cpu.cfs_period_us', value: '100000' },
    { file: '/cg/cpu/baton/w-1/j1/cpu.cfs_quota_us', value: '50000' },
    { file: '/cg/pids/baton/w-1/j1/pids.max', value: '20' },
  ]);
  assert.deepEqual(limitWrites(v2, 'w-1', 'j1', { memoryBytes: 67108864, cpu: 2, pids: 20 }), [
    { file: '/cg2/baton/w-1/j1/memory.max', value: '67108864' },
    { file: '/cg2/baton/w-1/j1/memory.swap.max', value: '0', optional: true },
    { file: '/cg2/baton/w-1/j1/cpu.max', value: '200000 100000' },
    { file: '/cg2/baton/w-1/j1/pids.max', value: '20' },
  ]);
  // I/O: one write per device and setting on v1 (blkio throttling), one io.max line per device on v2.
  const v1io: CgroupChoice = { version: 1, base: { memory: '/cg/memory', io: '/cg/blkio' } };
  assert.deepEqual(jobCgroupDirs(v1io, 'w', 'j', { writeBps: 1 }), ['/cg/blkio/baton/w/j']);
  assert.deepEqual(limitWrites(v1io, 'w', 'j', { writeBps: 4194304, readIops: 100 }, ['254:0', '8:16']), [
    { file: '/cg/blkio/baton/w/j/blkio.throttle.write_bps_device', value: '254:0 4194304' },
    { file: '/cg/blkio/baton/w/j/blkio.throttle.write_bps_device', value: '8:16 4194304' },
    { file: '/cg/blkio/baton/w/j/blkio.throttle.read_iops_device', value: '254:0 100' },
    { file: '/cg/blkio/baton/w/j/blkio.throttle.read_iops_device', value: '8:16 100' },
  ]);
  assert.deepEqual(limitWrites(v2, 'w', 'j', { readBps: 1048576, writeBps: 2097152, readIops: 10, writeIops: 20 }, ['254:0']), [
    { file: '/cg2/baton/w/j/io.max', value: '254:0 rbps=1048576 wbps=2097152 riops=10 wiops=20' },
  ]);
  assert.deepEqual(limitWrites(v2, 'w', 'j', { writeIops: 5, pids: 3 }, ['8:0', '259:0']), [
    { file: '/cg2/baton/w/j/pids.max', value: '3' },
    { file: '/cg2/baton/w/j/io.max', value: '8:0 wiops=5' },
    { file: '/cg2/baton/w/j/io.max', value: '259:0 wiops=5' },
  ]);
  // The smallest quota the kernel takes is 1 ms.
  assert.deepEqual(limitWrites(v2, 'w', 'j', { cpu: 0.001 }), [{ file: '/cg2/baton/w/j/cpu.max', value: '1000 100000' }]);
});

test('oomKills and messages', () => {
  const cases: [1 | 2, string | undefined, string | undefined, number][] = [
    [1, 'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n', '313\n', 1],
    [1, 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n', '0\n', 0],
    [1, 'oom_kill_disable 0\nunder_oom 0\n', '5\n', 1], // an old kernel without the oom_kill line: failcnt
    [1, 'oom_kill_disable 0\nunder_oom 0\n', '0\n', 0],
    [2, 'low 0\nhigh 0\nmax 12\noom 1\noom_kill 2\noom_group_kill 0\n', undefined, 2],
    [2, 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n', undefined, 0],
    [2, undefined, undefined, 0],
  ];
  for (const [version, events, failcnt, expected] of cases) assert.equal(oomKills(version, events, failcnt), expected, `${version} ${events}`);
  assert.equal(memoryExceededMessage(64 * 1024 ** 2), 'memory limit 64 MiB exceeded');
  assert.equal(noCgroupsMessage('no cgroup2 file system is mounted'), 'resource limits need cgroups; none are usable on this machine: no cgroup2 file system is mounted');
});
