import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseRetryAfter, retryDelayMs, sleep, type RetryAfterPolicy } from './retry.js';

const NOW = Date.parse('2026-12-06T01:00:00Z');
const POLICY: RetryAfterPolicy = { retries: 3, maxDelayMs: 30_000 };

describe('parseRetryAfter', () => {
  const cases: Array<[string | null, number | undefined]> = [
    [null, undefined],
    ['0', 0],
    ['7', 7_000],
    [' 2 ', 2_000],
    ['Sun, 06 Dec 2026 01:00:05 GMT', 5_000],
    ['Sun, 06 Dec 2026 00:59:00 GMT', 0], // a date already past: now
    ['1.5', undefined],
    ['-1', undefined],
    ['soon', undefined],
    ['', undefined],
  ];
  for (const [header, expected] of cases) it(`${JSON.stringify(header)} → ${expected}`, () => assert.equal(parseRetryAfter(header, NOW), expected));
});

describe('retryDelayMs', () => {
  const cases: Array<[string, number, string | null, number, number | undefined, string?]> = [
    ['429 with Retry-After waits that long', 429, '2', 0, 2_000],
    ['503 with Retry-After waits that long', 503, '1', 0, 1_000],
    ['503 with a date waits until it', 503, 'Sun, 06 Dec 2026 01:00:03 GMT', 0, 3_000],
    ['the last retry allowed', 503, '1', 2, 1_000],
    ['retries used up', 503, '1', 3, undefined],
    ['503 without Retry-After is a verdict (worker_down)', 503, null, 0, undefined],
    ['longer than the most it waits', 429, '31', 0, undefined],
    ['exactly the most it waits', 429, '30', 0, 30_000],
    ['other statuses are never retried', 500, '1', 0, undefined],
    ['502 neither', 502, '1', 0, undefined],
    ['nor a success', 200, '1', 0, undefined],
    ['a full queue is worth waiting for', 429, '5', 0, 5_000, 'queue_full'],
    ['a store that does not answer is', 503, '1', 0, 1_000, 'unavailable'],
    ['failed authentications are not: the token is wrong', 429, '5', 0, undefined, 'rate_limited'],
  ];
  for (const [name, status, header, tries, expected, code] of cases) it(name, () => assert.equal(retryDelayMs(status, header, code, tries, POLICY, NOW), expected));

  it('retries 0 never retries', () => assert.equal(retryDelayMs(503, '1', undefined, 0, { retries: 0, maxDelayMs: 30_000 }, NOW), undefined));
});

describe('sleep', () => {
  it('rejects with the reason when the signal aborts', async () => {
    const controller = new AbortController();
    const slept = sleep(60_000, controller.signal);
    controller.abort(new Error('stop waiting'));
    await assert.rejects(slept, /stop waiting/);
  });

  it('rejects at once when the signal aborted already', async () => {
    await assert.rejects(sleep(60_000, AbortSignal.abort(new Error('already'))), /already/);
  });

  it('resolves after the time', async () => {
    await sleep(1);
  });
});
