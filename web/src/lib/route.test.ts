import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRoute, routeHash, type Route } from './route.js';

test('parseRoute', () => {
  const cases: Array<[string, Route]> = [
    ['', { path: [], params: {} }],
    ['#/', { path: [], params: {} }],
    ['#/workers', { path: ['workers'], params: {} }],
    ['#/jobs?state=failed', { path: ['jobs'], params: { state: 'failed' } }],
    ['#/jobs?state=failed&worker=w-1&q=', { path: ['jobs'], params: { state: 'failed', worker: 'w-1' } }],
    ['#/jobs?label=zone%3Deu%2C+gpu%3Dtrue', { path: ['jobs'], params: { label: 'zone=eu, gpu=true' } }],
    ['#/jobs/0194%2Fab', { path: ['jobs', '0194/ab'], params: {} }],
    ['#/jobs/%E0%A4%A', { path: ['jobs', '%E0%A4%A'], params: {} }],
    ['#/no/such/page', { path: ['no', 'such', 'page'], params: {} }],
  ];
  for (const [hash, expected] of cases) assert.deepEqual(parseRoute(hash), expected, hash);
});

test('routeHash leaves blank values out and reads back the same', () => {
  const cases: Array<[string[], Record<string, string | undefined>, string]> = [
    [[], {}, '#/'],
    [['jobs'], { state: '', worker: undefined }, '#/jobs'],
    [['jobs'], { state: 'failed', worker: 'w 1' }, '#/jobs?state=failed&worker=w+1'],
    [['jobs', 'a/b'], {}, '#/jobs/a%2Fb'],
  ];
  for (const [path, params, expected] of cases) {
    const hash = routeHash(path, params);
    assert.equal(hash, expected);
    const back = parseRoute(hash);
    assert.deepEqual(back.path, path);
    assert.deepEqual(back.params, Object.fromEntries(Object.entries(params).filter(([, v]) => v)));
  }
});
