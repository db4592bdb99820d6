import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ago, commandLine, duration, parseLabelText, splitArgs } from './format.js';

const NOW = Date.parse('2026-11-28T12:00:00Z');
const before = (s: number): string => new Date(NOW - s * 1000).toISOString();

test('ago', () => {
  const cases: Array<[string | null, string]> = [
    [null, '–'],
    [before(1), 'just now'],
    [before(12), '12s ago'],
    [before(300), '5m ago'],
    [before(3 * 3600), '3h ago'],
    [before(2 * 86_400), '2d ago'],
  ];
  for (const [iso, expected] of cases) assert.equal(ago(iso, NOW), expected, String(iso));
});

test('duration', () => {
  const cases: Array<[string | null, string | null, string]> = [
    [null, null, '–'],
    [before(0.85), null, '850ms'],
    [before(12.3), null, '12.3s'],
    [before(245), null, '4m 05s'],
    [before(2 * 3600 + 180), null, '2h 03m'],
    [before(10), before(5), '5.0s'],
  ];
  for (const [from, to, expected] of cases) assert.equal(duration(from, to, NOW), expected, `${from} ${to}`);
});

test('commandLine', () => {
  assert.equal(commandLine({ command: 'bash', path: 'count.sh', args: ['--fast'] }), 'bash count.sh --fast');
  assert.equal(commandLine({ command: 'bash', args: ['-c', "echo 'hi'; exit 7"] }), `bash -c 'echo '\\''hi'\\''; exit 7'`);
  assert.equal(commandLine({ command: 'true', args: [''] }), "true ''");
});

test('parseLabelText', () => {
  assert.deepEqual(parseLabelText(''), {});
  assert.deepEqual(parseLabelText('zone=a, gpu=true'), { zone: 'a', gpu: 'true' });
  assert.throws(() => parseLabelText('zone'), /label "zone" is not key=value/);
  assert.throws(() => parseLabelText('=x'), /not key=value/);
});

test('splitArgs', () => {
  const cases: Array<[string, string[]]> = [
    ['', []],
    ['a b  c', ['a', 'b', 'c']],
    [`-c "echo hi; exit 7"`, ['-c', 'echo hi; exit 7']],
    [`'' x`, ['', 'x']],
    [`a'b c'd`, ['ab cd']],
  ];
  for (const [text, expected] of cases) assert.deepEqual(splitArgs(text), expected, text);
  assert.throws(() => splitArgs('"open'), /unclosed/);
});
