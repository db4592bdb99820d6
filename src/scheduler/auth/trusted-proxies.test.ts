import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTrustedProxies, trustedProxyList } from './trusted-proxies.js';

const good: [string, string[]][] = [
  ['127.0.0.1', ['127.0.0.1']],
  ['10.0.0.0/8', ['10.0.0.0/8']],
  [' 10.0.0.1 , 192.168.1.0/24 ', ['10.0.0.1', '192.168.1.0/24']],
  ['::1', ['::1']],
  ['fd00::/8,::ffff:10.0.0.1', ['fd00::/8', '::ffff:10.0.0.1']],
  ['10.0.0.1/32', ['10.0.0.1/32']],
  ['2001:db8::/128', ['2001:db8::/128']],
  ['10.0.0.1,', ['10.0.0.1']],
];
for (const [text, list] of good) {
  test(`trusted proxies: "${text}" is read`, () => assert.deepEqual(parseTrustedProxies(text), list));
}

// Each would make fastify throw at startup, or trust nothing or everything without saying so.
const bad = ['localhost', '10.0.0', '10.0.0.1/33', '10.0.0.0/0', '::/0', '::1/129', '10.0.0.0/8/8', '10.0.0.0/', '10.0.0.0/x', '10.0.0.0/255.0.0.0', '*', '10.0.0.1 10.0.0.2'];
for (const text of bad) {
  test(`trusted proxies: "${text}" is refused with the rule`, () => assert.throws(() => parseTrustedProxies(text), /not a trusted proxy: .*IP address/));
}

test('trusted proxies: a repeated flag adds to the list', () => {
  assert.deepEqual(parseTrustedProxies('10.0.0.2', parseTrustedProxies('10.0.0.1')), ['10.0.0.1', '10.0.0.2']);
});

test('trusted proxies: every source reads the same', () => {
  assert.deepEqual(trustedProxyList(undefined), []);
  assert.deepEqual(trustedProxyList('10.0.0.1,10.0.0.2'), ['10.0.0.1', '10.0.0.2']);
  assert.deepEqual(trustedProxyList(['10.0.0.1', '10.1.0.0/16,10.2.0.0/16']), ['10.0.0.1', '10.1.0.0/16', '10.2.0.0/16']);
  assert.throws(() => trustedProxyList(['10.0.0.1', 7]), /7 is not a string/);
  assert.throws(() => trustedProxyList(true), /must be a string or a list of strings/);
  assert.throws(() => trustedProxyList(['nope']), /not a trusted proxy: "nope"/);
});
