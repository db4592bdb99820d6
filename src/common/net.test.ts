import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isLoopbackHost, isUnspecifiedHost, joinHostPort, schedulerAddresses, splitHostPort, unroutableAdvertise } from './net.js';

describe('network addresses', () => {
  it('splits host:port, IPv6 in brackets; refuses what is not one', () => {
    const cases: [string, { host: string; port: number } | RegExp][] = [
      ['127.0.0.1:7071', { host: '127.0.0.1', port: 7071 }],
      ['localhost:0', { host: 'localhost', port: 0 }],
      ['[::1]:7071', { host: '::1', port: 7071 }],
      ['127.0.0.1', /not a host:port address: "127.0.0.1"/],
      ['::1:7071', /not a host:port address/],
      ['host:99999', /port out of range in "host:99999"/],
      ['host:port', /not a host:port address/],
    ];
    for (const [input, expected] of cases) {
      if (expected instanceof RegExp) assert.throws(() => splitHostPort(input), expected, input);
      else assert.deepEqual(splitHostPort(input), expected, input);
    }
  });

  it('joins host and port, bracketing IPv6', () => {
    assert.equal(joinHostPort('127.0.0.1', 7070), '127.0.0.1:7070');
    assert.equal(joinHostPort('::1', 7070), '[::1]:7070');
  });

  it('knows loopback hosts', () => {
    const cases: [string, boolean][] = [
      ['localhost', true],
      ['127.0.0.1', true],
      ['127.1.2.3', true],
      ['::1', true],
      ['0.0.0.0', false],
      ['10.0.0.1', false],
      ['127.0.0.1.example.com', false],
    ];
    for (const [host, loopback] of cases) assert.equal(isLoopbackHost(host), loopback, host);
  });

  it('reads a --scheduler list: one address or several, spaces around commas allowed, no empty entry', () => {
    const cases: [string, string[] | RegExp][] = [
      ['127.0.0.1:7071', ['127.0.0.1:7071']],
      ['a:7071,b:7071', ['a:7071', 'b:7071']],
      ['a:7071, b:7071 ,c:7071', ['a:7071', 'b:7071', 'c:7071']],
      ['', /an entry is empty/],
      ['a:7071,', /scheduler addresses "a:7071,": an entry is empty/],
      ['a:7071,,b:7071', /an entry is empty/],
    ];
    for (const [input, expected] of cases) {
      if (expected instanceof RegExp) assert.throws(() => schedulerAddresses(input), expected, input);
      else assert.deepEqual(schedulerAddresses(input), expected, input);
    }
  });

  it('knows the unspecified hosts, which no peer can dial', () => {
    const cases: [string, boolean][] = [
      ['0.0.0.0', true],
      ['::', true],
      ['0:0:0:0:0:0:0:0', true],
      ['127.0.0.1', false],
      ['::1', false],
      ['10.0.0.1', false],
      ['localhost', false],
    ];
    for (const [host, expected] of cases) assert.equal(isUnspecifiedHost(host), expected, host);
  });

  it('refuses a worker advertising an address the scheduler cannot dial, saying what to pass', () => {
    const cases: [string, string | undefined, RegExp | undefined][] = [
      ['127.0.0.1:7072', undefined, undefined],
      ['0.0.0.0:7072', '10.0.0.11:7072', undefined],
      ['[::]:7072', 'worker-1.internal:7072', undefined],
      [
        '0.0.0.0:7072',
        undefined,
        /^--listen 0\.0\.0\.0:7072 listens on every interface, but the scheduler cannot dial 0\.0\.0\.0: pass --advertise .* --advertise 10\.0\.0\.11:7072 /,
      ],
      ['[::]:0', undefined, /cannot dial ::: pass --advertise .*--advertise 10\.0\.0\.11:PORT/],
      ['127.0.0.1:7072', '0.0.0.0:7072', /^--advertise 0\.0\.0\.0:7072 is not an address the scheduler can dial/],
    ];
    for (const [listen, advertise, expected] of cases) {
      const why = unroutableAdvertise(listen, advertise);
      if (expected) assert.match(why ?? '', expected, listen);
      else assert.equal(why, undefined, listen);
    }
  });
});
