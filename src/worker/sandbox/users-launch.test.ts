import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildLaunch, CGROUP_JOIN_SCRIPT, commandAllowed, commandNotAllowedMessage, type LaunchInput } from './launch.js';
import { folderAccessProblem, resolveRunAs, type RunAs } from './users.js';

const PASSWD = `root:x:0:0:root:/root:/bin/bash
# a comment
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
runner:x:1001:1001::/home/runner:/bin/bash`;
const GROUP = `root:x:0:
nogroup:x:65534:
runner:x:1001:
jobs:x:2000:runner`;

test('resolveRunAs', () => {
  const cases: [string, RunAs | RegExp][] = [
    ['nobody:nogroup', { user: 'nobody', uid: 65534, group: 'nogroup', gid: 65534, home: '/nonexistent' }],
    ['runner', { user: 'runner', uid: 1001, group: 'runner', gid: 1001, home: '/home/runner' }],
    ['runner:jobs', { user: 'runner', uid: 1001, group: 'jobs', gid: 2000, home: '/home/runner' }],
    ['1001:2000', { user: 'runner', uid: 1001, group: 'jobs', gid: 2000, home: '/home/runner' }],
    ['5000:5000', { user: '5000', uid: 5000, group: '5000', gid: 5000, home: '/' }],
    ['5000', /uid 5000 has no \/etc\/passwd entry/],
    ['ghost', /user "ghost" does not exist on this machine/],
    ['nobody:ghosts', /group "ghosts" does not exist/],
    ['a:b:c', /is not USER or USER:GROUP/],
    ['nobody:', /is not USER or USER:GROUP/],
    ['', /is not USER or USER:GROUP/],
  ];
  for (const [spec, expected] of cases) {
    if (expected instanceof RegExp) assert.throws(() => resolveRunAs(spec, PASSWD, GROUP), expected, spec);
    else assert.deepEqual(resolveRunAs(spec, PASSWD, GROUP), expected, spec);
  }
});

test('folderAccessProblem', () => {
  const nobody = resolveRunAs('nobody:nogroup', PASSWD, GROUP);
  const root = { path: '/', mode: 0o40755, uid: 0, gid: 0 };
  const tmp = { path: '/tmp', mode: 0o41777, uid: 0, gid: 0 };
  const cases: [string, Parameters<typeof folderAccessProblem>[0], string | undefined][] = [
    ['world-readable', [root, tmp, { path: '/tmp/jobs', mode: 0o40755, uid: 0, gid: 0 }], undefined],
    ['mkdtemp 0700', [root, tmp, { path: '/tmp/jobs', mode: 0o40700, uid: 0, gid: 0 }], 'nobody cannot read /tmp/jobs (mode 700, owner 0:0)'],
    ['search-only ancestor is enough', [root, { path: '/srv', mode: 0o40711, uid: 0, gid: 0 }, { path: '/srv/jobs', mode: 0o40755, uid: 0, gid: 0 }], undefined],
    [
      'closed ancestor',
      [root, { path: '/root', mode: 0o40700, uid: 0, gid: 0 }, { path: '/root/jobs', mode: 0o40755, uid: 0, gid: 0 }],
      'nobody cannot enter /root (mode 700, owner 0:0)',
    ],
    ['group access', [root, { path: '/jobs', mode: 0o40750, uid: 0, gid: 65534 }], undefined],
    ['owner access', [root, { path: '/jobs', mode: 0o40700, uid: 65534, gid: 0 }], undefined],
  ];
  for (const [name, chain, expected] of cases) assert.equal(folderAccessProblem(chain, nobody), expected, name);
});

test('buildLaunch', () => {
  const tools = { sh: '/bin/sh', unshare: '/usr/bin/unshare', setpriv: '/usr/bin/setpriv' };
  const base: LaunchInput = { program: '/usr/bin/bash', args: ['-c', 'id'], cgroupProcs: [], isolate: false, noNetwork: false };
  const user = { uid: 65534, gid: 65534 };
  const setpriv = ['/usr/bin/setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'];
  const cases: [string, LaunchInput, ReturnType<typeof buildLaunch>][] = [
    ['fast path: the program itself as the worker', base, { program: '/usr/bin/bash', args: ['-c', 'id'], uid: undefined, gid: undefined }],
    ['fast path as nobody: spawn sets uid/gid', { ...base, runAs: user }, { program: '/usr/bin/bash', args: ['-c', 'id'], uid: 65534, gid: 65534 }],
    [
      'limits: join the cgroups as root, then drop to the user',
      { ...base, runAs: user, cgroupProcs: ['/cg/memory/j/cgroup.procs', '/cg/pids/j/cgroup.procs'] },
      {
        program: '/bin/sh',
        args: ['-c', CGROUP_JOIN_SCRIPT, 'baton-cgroup', '/cg/memory/j/cgroup.procs', '/cg/pids/j/cgroup.procs', '--', ...setpriv, '/usr/bin/bash', '-c', 'id'],
      },
    ],
    ['no network, as root', { ...base, noNetwork: true }, { program: '/usr/bin/unshare', args: ['--net', '--', '/usr/bin/bash', '-c', 'id'] }],
    [
      'everything',
      { ...base, runAs: user, cgroupProcs: ['/cg/j/cgroup.procs'], isolate: true, noNetwork: true },
      {
        program: '/bin/sh',
        args: [
          '-c',
          CGROUP_JOIN_SCRIPT,
          'baton-cgroup',
          '/cg/j/cgroup.procs',
          '--',
          '/usr/bin/unshare',
          '--pid',
          '--fork',
          '--kill-child',
          '--mount-proc',
          '--net',
          '--',
          ...setpriv,
          '/usr/bin/bash',
          '-c',
          'id',
        ],
      },
    ],
  ];
  for (const [name, input, expected] of cases) assert.deepEqual(buildLaunch(input, tools), expected, name);
  assert.throws(() => buildLaunch({ ...base, isolate: true }, { sh: '/bin/sh' }), /unshare \(util-linux\) is needed/);
  assert.throws(() => buildLaunch({ ...base, runAs: user, cgroupProcs: ['/x'] }, { sh: '/bin/sh' }), /setpriv \(util-linux\) is needed/);
});

test('commandAllowed', () => {
  const cases: [string[], string, string | undefined, boolean][] = [
    [[], 'anything', '/usr/bin/anything', true],
    [['bash', 'sh'], 'bash', '/usr/bin/bash', true],
    [['bash', 'sh'], 'curl', '/usr/bin/curl', false],
    [['/usr/bin/curl'], 'curl', '/usr/bin/curl', true],
    [['/usr/bin/curl'], 'curl', undefined, false],
    [['./run.sh'], './run.sh', '/jobs/run.sh', true],
  ];
  for (const [allowed, written, resolved, expected] of cases) assert.equal(commandAllowed(allowed, written, resolved), expected, `${written} in ${allowed.join(',')}`);
  assert.equal(commandNotAllowedMessage('curl', 'w-1', ['bash', 'sh']), 'command "curl" is not allowed on worker w-1 (allowed: bash, sh)');
});
