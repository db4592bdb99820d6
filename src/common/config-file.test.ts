import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { parse as parseToml } from 'smol-toml';
import { schedulerCommand } from '../cli/scheduler.js';
import { workerCommand } from '../cli/worker.js';
import { configValues, editDistance, unknownVariables } from './config-file.js';
import { environmentWarnings } from './options.js';

const scheduler = schedulerCommand().options;
const worker = workerCommand().options;

function schedulerValues(toml: string): Record<string, unknown> {
  return Object.fromEntries(configValues(parseToml(toml), 'scheduler', scheduler));
}

function workerValues(toml: string): Record<string, unknown> {
  return Object.fromEntries(configValues(parseToml(toml), 'worker', worker));
}

describe('baton.toml sections', () => {
  it('reads each key through its flag: durations (a bare number is seconds), sizes, whole numbers, switches', () => {
    assert.deepEqual(
      schedulerValues(`
[scheduler]
http = "127.0.0.1:8080"
heartbeat_ttl = 30
heartbeat-interval = "1m30s"
body_limit = "2MiB"
max_queued = 50
trusted-proxy = ["10.0.0.5", "10.1.0.0/16"]
no-auth = true
insecure = true
`),
      {
        http: '127.0.0.1:8080',
        heartbeatTtl: 30_000,
        heartbeatInterval: 90_000,
        bodyLimit: 2 * 1024 ** 2,
        maxQueued: 50,
        trustedProxy: ['10.0.0.5', '10.1.0.0/16'],
        auth: false,
        insecure: true,
      },
    );
    assert.deepEqual(
      workerValues(`
[worker]
stop_grace = 0.5
drain-timeout = "0"
capacity = 8
label = { zone = "a" }
allowed_commands = ["bash", "sh"]
env_allow = "PATH,HOME"
default_cpu = 1
max_memory = "1GiB"
default_io = { write_bps = "10MiB", read_iops = 200 }
`),
      {
        stopGrace: 500,
        drainTimeout: 0,
        capacity: 8,
        label: { zone: 'a' },
        allowedCommands: ['bash', 'sh'],
        envAllow: 'PATH,HOME',
        defaultCpu: 1,
        maxMemory: '1GiB',
        defaultIo: { write_bps: '10MiB', read_iops: 200 },
      },
    );
  });

  it('ignores the other section and a file without this one', () => {
    assert.deepEqual(schedulerValues('[worker]\ncapacity = 2\n'), {});
    assert.deepEqual(schedulerValues(''), {});
  });

  it('refuses unknown keys and sections, naming the closest known one', () => {
    const cases: [string, string][] = [
      ['[scheduler]\nhearbeat_ttl = "5s"\n', 'unknown key "hearbeat_ttl" in [scheduler]; did you mean heartbeat_ttl?'],
      ['[scheduler]\nhearbeat-ttl = "5s"\n', 'unknown key "hearbeat-ttl" in [scheduler]; did you mean heartbeat-ttl?'],
      ['[scheduler]\nhtpp = "127.0.0.1:1"\n', 'unknown key "htpp" in [scheduler]; did you mean http?'],
      ['[scheduler]\ncolour = "blue"\n', 'unknown key "colour" in [scheduler]'],
      ['[scheduler]\nconfig = "other.toml"\n', '[scheduler] config names the file itself; it cannot be set inside it'],
      ['[schedular]\nhttp = "127.0.0.1:1"\n', 'unknown section [schedular]; did you mean [scheduler]?; the sections are [scheduler] and [worker]'],
      ['http = "127.0.0.1:1"\n', 'unknown key "http" at the top level; options go in [scheduler] or [worker]'],
      ['scheduler = "x"\n', 'scheduler must be a table: [scheduler]'],
      ['[scheduler]\ndata-dir = "a"\ndata_dir = "b"\n', '[scheduler] sets data-dir and data_dir: they are one option; keep one'],
    ];
    for (const [toml, message] of cases) assert.throws(() => schedulerValues(toml), { message }, toml);
  });

  it('refuses a value of the wrong type or one its flag would refuse', () => {
    const cases: [string, string][] = [
      ['heartbeat_ttl = "5 minutes"', '[scheduler] heartbeat_ttl = "5 minutes": not a duration; use a number of seconds or a unit, e.g. 30s, 5m, 500ms'],
      ['heartbeat_ttl = 0', '[scheduler] heartbeat_ttl = 0: must be more than 0'],
      ['heartbeat_ttl = -5', '[scheduler] heartbeat_ttl = -5: a duration cannot be negative'],
      ['heartbeat_ttl = true', '[scheduler] heartbeat_ttl = true: must be a string or a number, not true'],
      ['max_queued = "50"', '[scheduler] max_queued = "50": must be a whole number (a TOML integer, without quotes), not a string'],
      ['max_queued = 1.5', '[scheduler] max_queued = 1.5: must be a whole number (a TOML integer, without quotes), not a number'],
      ['max_queued = 0', '[scheduler] max_queued = 0: not a positive whole number: "0"'],
      ['http = 7070', '[scheduler] http = 7070: must be a string, not an integer'],
      ['http = ["a"]', '[scheduler] http = array: must be a string, not an array'],
      ['insecure = "yes"', '[scheduler] insecure = "yes": must be true or false, not a string'],
      ['body_limit = "lots"', '[scheduler] body_limit = "lots": not a size: "lots" (use e.g. 64MiB, 512k)'],
    ];
    for (const [line, message] of cases) assert.throws(() => schedulerValues(`[scheduler]\n${line}\n`), { message }, line);
    const workerCases: [string, string][] = [
      ['label = { gpu = true }', "[worker] label = table: must be a table of strings (or the flag's text), not a table"],
      ['allowed_commands = ["bash", 1]', '[worker] allowed_commands = array: must be an array of strings (or one comma-separated string), not an array'],
      ['capacity = "8"', '[worker] capacity = "8": must be a whole number (a TOML integer, without quotes), not a string'],
    ];
    for (const [line, message] of workerCases) assert.throws(() => workerValues(`[worker]\n${line}\n`), { message }, line);
  });
});

describe('BATON_* variables', () => {
  it('names those no option reads, with the closest known one', () => {
    const known = new Set(['BATON_HEARTBEAT_TTL', 'BATON_STOP_GRACE', 'BATON_TOKEN']);
    assert.deepEqual(unknownVariables(['PATH', 'BATON_TOKEN', 'BATON_STOP_GRACE', 'BATON_HEARTBEAT_TL', 'BATON_COLOUR'], known), [
      'BATON_COLOUR is not a Baton variable',
      'BATON_HEARTBEAT_TL is not a Baton variable; did you mean BATON_HEARTBEAT_TTL?',
    ]);
  });

  it("knows every command's variables and those read outside the options", () => {
    const saved = { ...process.env };
    try {
      for (const name of Object.keys(process.env)) if (name.startsWith('BATON_')) delete process.env[name];
      Object.assign(process.env, { BATON_STOP_GRACE: '1', BATON_HEARTBEAT_TTL: '1', BATON_LOG_LEVEL: 'info', BATON_JOB_ID: 'x', BATON_WORKER_CAPACITI: '2' });
      const program = new Command('baton').addCommand(schedulerCommand()).addCommand(workerCommand());
      assert.deepEqual(environmentWarnings(program.commands[0]!), ['BATON_WORKER_CAPACITI is not a Baton variable; did you mean BATON_WORKER_CAPACITY?']);
    } finally {
      for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
      Object.assign(process.env, saved);
    }
  });
});

describe('editDistance', () => {
  it('counts insertions, deletions, substitutions and swaps of neighbours', () => {
    const cases: [string, string, number][] = [
      ['', '', 0],
      ['http', 'http', 0],
      ['htp', 'http', 1],
      ['htpp', 'http', 1],
      ['hearbeat-ttl', 'heartbeat-ttl', 1],
      ['grcp', 'grpc', 1],
      ['colour', 'store', 5],
      ['', 'abc', 3],
    ];
    for (const [a, b, d] of cases) assert.equal(editDistance(a, b), d, `${a} ${b}`);
  });
});
