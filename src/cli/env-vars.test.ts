import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { envPair, parseEnvFile } from './env-vars.js';

const shell = { HOME: '/home/ada', EMPTY: '' };

describe('a job environment from flags and files', () => {
  it('-e KEY=VALUE as written, -e KEY from this shell, a bad one named', () => {
    const cases: [string, [string, string] | RegExp][] = [
      ['GREETING=hello', ['GREETING', 'hello']],
      ['URL=a=b', ['URL', 'a=b']],
      ['BLANK=', ['BLANK', '']],
      ['HOME', ['HOME', '/home/ada']],
      ['EMPTY', ['EMPTY', '']],
      ['UNSET', /^Error: UNSET is not set here \(to pass it empty, write UNSET=\)$/],
      ['=x', /not KEY=VALUE or KEY: "=x"/],
      ['1A=x', /not KEY=VALUE or KEY/],
    ];
    for (const [text, expected] of cases) {
      if (expected instanceof RegExp) assert.throws(() => envPair(text, shell), expected, text);
      else assert.deepEqual(envPair(text, shell), expected, text);
    }
  });

  it('--env-file: a pair or a name a line, comments and blank lines skipped, errors with the line', () => {
    assert.deepEqual(parseEnvFile('# settings\nA=1\n\n  B="two words"\nHOME\r\nC=\n', shell, 'job.env'), { A: '1', B: '"two words"', HOME: '/home/ada', C: '' });
    assert.throws(() => parseEnvFile('A=1\nNOPE\n', shell, 'job.env'), /^Error: job\.env line 2: NOPE is not set here/);
  });
});
