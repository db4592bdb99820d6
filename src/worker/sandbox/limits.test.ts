import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  effectiveLimits,
  formatBytes,
  parseBandwidth,
  parseCpu,
  parseIoLimits,
  parseIops,
  parseMemory,
  parsePids,
  policyProblem,
  type LimitPolicy,
  type Limits,
} from './limits.js';

const MiB = 1024 ** 2;

test('parseMemory', () => {
  const cases: [string | number, number | RegExp][] = [
    ['64MiB', 64 * MiB],
    ['64M', 64 * MiB],
    ['64mb', 64 * MiB],
    ['512k', 512 * 1024],
    ['1.5G', 1.5 * 1024 ** 3],
    ['4GiB', 4 * 1024 ** 3],
    ['1048576', 1048576],
    ['100b', 100],
    [67108864, 67108864],
    ['lots', /not a size/],
    ['-1M', /not a size/],
    ['0', /not a positive size/],
    [0, /positive whole number/],
    [1.5, /positive whole number/],
    ['64 MiB', 64 * MiB],
  ];
  for (const [input, expected] of cases) {
    if (typeof expected === 'number') assert.equal(parseMemory(input), expected, String(input));
    else assert.throws(() => parseMemory(input), expected, String(input));
  }
});

test('parseCpu and parsePids', () => {
  assert.equal(parseCpu(0.5), 0.5);
  assert.equal(parseCpu('2'), 2);
  for (const bad of [0, -1, 'x', Number.NaN, Number.POSITIVE_INFINITY, 0.001, 1e300, 4097]) assert.throws(() => parseCpu(bad), /cpu/, String(bad));
  assert.equal(parsePids(100), 100);
  assert.equal(parsePids('512'), 512);
  for (const bad of [0, -3, 1.5, '1e3', 'many', 10_000_000]) assert.throws(() => parsePids(bad), /pids must be/, String(bad));
});

test('parseBandwidth and parseIops', () => {
  const bps: [string | number, number | RegExp][] = [
    ['10MiB', 10 * MiB],
    ['10MiB/s', 10 * MiB],
    ['10 MB / s', 10 * MiB],
    ['512k', 512 * 1024],
    [1048576, 1048576],
    ['fast', /io\.write_bps "fast" is not a size: use e\.g\. "64MiB\/s"/],
    [0, /io\.write_bps must be a positive whole number of bytes\/s/],
    ['10MiB/min', /is not a size/],
  ];
  for (const [input, expected] of bps) {
    if (typeof expected === 'number') assert.equal(parseBandwidth(input, 'io.write_bps'), expected, String(input));
    else assert.throws(() => parseBandwidth(input, 'io.write_bps'), expected, String(input));
  }
  assert.equal(parseIops('100', 'x'), 100);
  assert.equal(parseIops(4_294_967_295, 'x'), 4_294_967_295);
  for (const bad of [0, -1, 1.5, 'many', 2 ** 32]) assert.throws(() => parseIops(bad, 'io.read_iops'), /io\.read_iops must be a whole number of operations a second/, String(bad));
});

test('parseIoLimits: TOML tables, API objects and key=value flags', () => {
  const cases: [string, unknown, Limits | RegExp][] = [
    ['flag', 'write_bps=10MiB,read_iops=200', { writeBps: 10 * MiB, readIops: 200 }],
    ['flag with spaces and all four', ' read_bps = 1M , write_bps=2M,read_iops=3, write_iops=4 ', { readBps: MiB, writeBps: 2 * MiB, readIops: 3, writeIops: 4 }],
    ['table', { write_bps: '5MiB', write_iops: 50 }, { writeBps: 5 * MiB, writeIops: 50 }],
    ['empty table', {}, {}],
    ['unknown key', { write_mbps: 5 }, /--max-io: unknown key "write_mbps" \(use read_bps, write_bps, read_iops, write_iops\)$/],
    ['not key=value', 'write_bps', /--max-io: "write_bps" is not key=value/],
    ['bad value', 'write_iops=lots', /--max-io\.write_iops must be a whole number of operations a second/],
    ['a list', ['write_bps=1M'], /--max-io must be a table/],
    ['a boolean value', { read_bps: true }, /--max-io\.read_bps must be a number or a string/],
  ];
  for (const [name, input, expected] of cases) {
    if (expected instanceof RegExp) assert.throws(() => parseIoLimits(input, '--max-io'), expected, name);
    else assert.deepEqual(parseIoLimits(input, '--max-io'), expected, name);
  }
});

test('formatBytes', () => {
  const cases: [number, string][] = [
    [64 * MiB, '64 MiB'],
    [4 * 1024 ** 3, '4 GiB'],
    [1536 * MiB, '1.5 GiB'],
    [1000, '1000 B'],
    [2048, '2 KiB'],
    [100 * MiB + 1, '100 MiB'],
  ];
  for (const [n, text] of cases) assert.equal(formatBytes(n), text);
});

test('effectiveLimits: request, else default; refused above the maximum', () => {
  const policy: LimitPolicy = { defaults: { memoryBytes: 512 * MiB, cpu: 1, pids: 512 }, max: { memoryBytes: 4096 * MiB, cpu: 2, pids: 4096 } };
  const io: LimitPolicy = { defaults: { writeBps: 5 * MiB, readIops: 100 }, max: { writeBps: 10 * MiB, readIops: 1000 } };
  const cases: [string, Limits, LimitPolicy, { limits: Limits } | { problem: string }][] = [
    ['nothing asked: the defaults', {}, policy, { limits: { memoryBytes: 512 * MiB, cpu: 1, pids: 512 } }],
    ['asked below the default', { memoryBytes: 64 * MiB, pids: 10 }, policy, { limits: { memoryBytes: 64 * MiB, cpu: 1, pids: 10 } }],
    ['asked exactly the maximum', { memoryBytes: 4096 * MiB, cpu: 2, pids: 4096 }, policy, { limits: { memoryBytes: 4096 * MiB, cpu: 2, pids: 4096 } }],
    ['memory above', { memoryBytes: 8192 * MiB }, policy, { problem: 'memory limit 8 GiB is above the maximum of 4 GiB on worker w-1' }],
    ['cpu above', { cpu: 2.5 }, policy, { problem: 'cpu limit 2.5 CPUs is above the maximum of 2 CPUs on worker w-1' }],
    ['pids above', { pids: 5000 }, policy, { problem: 'pids limit 5000 processes is above the maximum of 4096 processes on worker w-1' }],
    ['no policy: unlimited', {}, { defaults: {}, max: {} }, { limits: {} }],
    ['no maximum: anything', { memoryBytes: 1024 ** 4 }, { defaults: {}, max: {} }, { limits: { memoryBytes: 1024 ** 4 } }],
    ['too small', { memoryBytes: 1024 }, { defaults: {}, max: {} }, { problem: 'memory limit 1 KiB is too small: at least 4 MiB' }],
    ['io: request, else default', { writeBps: 2 * MiB }, io, { limits: { writeBps: 2 * MiB, readIops: 100 } }],
    ['io: write_bps above', { writeBps: 100 * MiB }, io, { problem: 'io.write_bps limit 100 MiB/s is above the maximum of 10 MiB/s on worker w-1' }],
    ['io: read_iops above', { readIops: 5000 }, io, { problem: 'io.read_iops limit 5000 IOPS is above the maximum of 1000 IOPS on worker w-1' }],
    ['io: a maximum alone bounds requests, sets nothing', {}, { defaults: {}, max: { readBps: MiB } }, { limits: {} }],
  ];
  for (const [name, asked, p, expected] of cases) assert.deepEqual(effectiveLimits(asked, p, 'w-1'), expected, name);
});

test('policyProblem', () => {
  assert.equal(policyProblem({ defaults: { memoryBytes: 512 * MiB }, max: { memoryBytes: 4096 * MiB } }), undefined);
  assert.equal(policyProblem({ defaults: { cpu: 4 }, max: { cpu: 2 } }), 'the default cpu limit (4 CPUs) is above the maximum (2 CPUs)');
  assert.equal(policyProblem({ defaults: { pids: 10 }, max: {} }), undefined);
  assert.equal(policyProblem({ defaults: { writeIops: 200 }, max: { writeIops: 100 } }), 'the default io.write_iops limit (200 IOPS) is above the maximum (100 IOPS)');
});
