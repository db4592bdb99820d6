import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { paintState, palette, shouldColor, type ColorEnv } from './color.js';

describe('shouldColor', () => {
  const cases: [boolean | undefined, ColorEnv, boolean][] = [
    [true, {}, true],
    [false, {}, false],
    [undefined, {}, false],
    [true, { NO_COLOR: '1' }, false],
    [true, { NO_COLOR: '' }, true], // empty NO_COLOR is ignored, as the convention says
    [true, { TERM: 'dumb' }, false],
    [false, { FORCE_COLOR: '1' }, true],
    [false, { FORCE_COLOR: '0' }, false],
    [false, { FORCE_COLOR: '1', NO_COLOR: '1' }, false],
  ];
  for (const [tty, env, expected] of cases) it(`tty=${String(tty)} ${JSON.stringify(env)} → ${expected}`, () => assert.equal(shouldColor(tty, env), expected));
});

describe('palette and paintState', () => {
  for (const [enabled, state, expected] of [
    [false, 'failed', 'failed'],
    [true, 'failed', '\u001b[31mfailed\u001b[39m'],
    [true, 'succeeded', '\u001b[32msucceeded\u001b[39m'],
    [true, 'up', '\u001b[32mup\u001b[39m'],
    [true, 'something-new', 'something-new'],
  ] as const) {
    it(`${enabled ? 'colour' : 'plain'} ${state}`, () => assert.equal(paintState(palette(enabled), state), expected));
  }
  it('leaves the empty string alone', () => assert.equal(palette(true).bold(''), ''));
});
