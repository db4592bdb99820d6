import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Command, CommanderError } from 'commander';
import { withSpec, withSpecOptions, type SpecFlags } from './spec-flags.js';

/** The flags as `baton run` would parse them. */
function parse(...argv: string[]): SpecFlags {
  const command = withSpecOptions(new Command('x'))
    .exitOverride()
    .configureOutput({ writeErr: () => {} });
  command.parse(argv, { from: 'user' });
  return command.opts<SpecFlags>();
}

describe('spec flags → the POST /v1/jobs fields', () => {
  const base = { command: 'true' };
  for (const [argv, expected] of [
    [[], base],
    [['--name', 'nightly'], { ...base, name: 'nightly' }],
    [['--cpu', '0.5', '--memory', '512MiB', '--pids', '64'], { ...base, resources: { cpu: 0.5, memory: '512MiB', pids: 64 } }],
    [['--io', 'write_bps=10MiB,read_iops=100'], { ...base, resources: { io: { write_bps: 10 * 1024 ** 2, read_iops: 100 } } }],
    [['--network', 'none', '--isolate'], { ...base, network: 'none', isolate: true }],
    [['--run-on', 'all'], { ...base, run_on: 'all' }],
  ] as const) {
    it(argv.join(' ') || '(none)', () => assert.deepEqual(withSpec(base, parse(...argv)), expected));
  }

  for (const [argv, message] of [
    [['--cpu', 'lots'], /cpu must be a positive number/],
    [['--memory', 'big'], /memory "big" is not a size/],
    [['--pids', '0'], /pids must be a whole number/],
    [['--io', 'speed=1'], /--io: unknown key "speed"/],
    [['--run-on', 'some'], /Allowed choices are all/],
  ] as const) {
    it(`refuses ${argv.join(' ')}`, () => {
      assert.throws(
        () => parse(...argv),
        (err: unknown) => err instanceof CommanderError && message.test(err.message),
      );
    });
  }
});
