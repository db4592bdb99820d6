// The dashboard's output view of a large job, in headless Chromium against a real scheduler and
// worker: it opens at the end without fetching the whole output, loads earlier parts on demand,
// finds a line near the start through the scheduler's search and shows it, and downloads the
// whole output (a plain link without tokens, a Blob fetched with the token otherwise).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Browser, Page, Request } from 'playwright-core';
import { eventually, submitJob, startScheduler, startWorker, tempDir, waitForFinal, type SchedulerHandle, type WorkerHandle } from './harness.js';
import { launchBrowser } from './support/browser.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const WAIT = { timeout: 60_000 };
const LINES = 1_500_000;
/** `line 00000001\n`: 14 bytes a line, 21 MB in all. */
const LINE_BYTES = 14;
const line = (n: number): string => `line ${String(n).padStart(8, '0')}`;

const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** The body bytes of every output answer the page has fetched (its requests that finished). */
function outputBytes(page: Page): () => Promise<number> {
  const finished: Request[] = [];
  page.on('requestfinished', (req) => {
    if (new URL(req.url()).pathname.endsWith('/output')) finished.push(req);
  });
  return async () => (await Promise.all(finished.map((r) => r.sizes()))).reduce((sum, s) => sum + s.responseBodySize, 0);
}

describe('dashboard: a large output', () => {
  let scheduler: SchedulerHandle;
  let worker: WorkerHandle;
  let browser: Browser;
  let id: string;

  before(async () => {
    scheduler = await startScheduler();
    worker = await startWorker(scheduler);
    browser = await launchBrowser();
    id = await submitJob(scheduler.api, { worker_id: worker.id, command: 'seq', args: ['-f', 'line %08.0f', '1', String(LINES)] });
    await waitForFinal(scheduler.api, id);
    await scheduler.waitForLog((l) => l.msg === 'job output kept' && l.job_id === id);
  });
  after(async () => {
    await browser?.close();
    await Promise.all([worker?.kill(), scheduler?.kill()]);
  });

  it('opens at the end without fetching it whole, loads earlier, finds a line near the start and shows it', async (t) => {
    const page = await browser.newPage();
    const fetched = outputBytes(page);
    // The job is over: the followed stream from the window's end ends at once, empty.
    const followed = page.waitForEvent('requestfinished', { predicate: (r) => r.url().includes('follow=true'), ...WAIT });
    await page.goto(`${scheduler.api}/#/jobs/${id}`);
    const output = page.getByTestId('output');
    await output.getByText(line(LINES)).waitFor(WAIT);
    await page.getByTestId('output-window').waitFor(WAIT);
    const opened = (await output.textContent()) ?? '';
    assert.ok(opened.startsWith('line '), 'starts at a whole line');
    assert.ok(!opened.includes(line(1480000)), 'only the end is shown');
    await followed;
    const atOpen = await fetched();
    assert.ok(atOpen > 0 && atOpen <= 300 * 1024, `fetched ${atOpen} of ${LINES * LINE_BYTES} bytes`);

    await page.getByRole('button', { name: 'Load earlier' }).click();
    await output.getByText(line(1470000)).waitFor(WAIT);
    assert.ok(((await output.textContent()) ?? '').endsWith(`${line(LINES)}\n`), 'the end is still shown');

    await page.getByRole('searchbox').fill(line(42));
    await page.getByRole('button', { name: 'Find' }).click();
    const matches = page.getByTestId('output-matches');
    await matches.getByText(`42: ${line(42)}`).click();
    const hit = page.getByTestId('output-hit');
    await hit.waitFor(WAIT);
    assert.equal(await hit.textContent(), `${line(42)}\n`);
    assert.ok(await hit.isVisible());
    const inAll = await fetched();
    t.diagnostic(`output bytes fetched: ${atOpen} to open, ${inAll} in all, of ${LINES * LINE_BYTES}`);
    assert.ok(inAll <= 800 * 1024, `fetched ${inAll} bytes in all`);

    await page.getByRole('button', { name: 'Back to the end' }).click();
    await output.getByText(line(LINES)).waitFor(WAIT);
    await page.close();
  });

  it('shows stdout or stderr alone when picked, and finds a line within the one shown', async () => {
    const split = await submitJob(scheduler.api, { worker_id: worker.id, command: 'bash', args: ['-c', 'for i in $(seq 1 300); do echo "out $i"; echo "err $i" >&2; done'] });
    await waitForFinal(scheduler.api, split);
    const page = await browser.newPage();
    await page.goto(`${scheduler.api}/#/jobs/${split}`);
    const output = page.getByTestId('output');
    await output.getByText('err 300').waitFor(WAIT);
    // Both streams, in the order the copy found them waiting (exact within each stream).
    const both = ((await output.textContent()) ?? '').split('\n');
    assert.deepEqual(
      both.filter((l) => l.startsWith('err ')),
      Array.from({ length: 300 }, (_, i) => `err ${i + 1}`),
    );
    assert.equal(both.filter((l) => l.startsWith('out ')).length, 300);
    const picker = page.getByRole('combobox', { name: 'Stream' });

    await picker.selectOption('stderr');
    const stderr = Array.from({ length: 300 }, (_, i) => `err ${i + 1}\n`).join('');
    await eventually(async () => ((await output.textContent()) === stderr ? true : undefined), 'stderr alone on the page');
    await page.getByRole('searchbox').fill('err 42');
    await page.getByRole('button', { name: 'Find' }).click();
    // Line 42 of stderr (it would be line 84 of both interleaved).
    await page.getByTestId('output-matches').getByText('42: err 42').click();
    assert.equal(await page.getByTestId('output-hit').textContent(), 'err 42\n');

    await picker.selectOption('stdout');
    const stdout = Array.from({ length: 300 }, (_, i) => `out ${i + 1}\n`).join('');
    await eventually(async () => ((await output.textContent()) === stdout ? true : undefined), 'stdout alone on the page');
    assert.equal(await page.getByTestId('output-matches').count(), 0, 'the search of the other stream is cleared');
    await page.close();
  });

  it('downloads the whole output with a plain link', async () => {
    const page = await browser.newPage();
    await page.goto(`${scheduler.api}/#/jobs/${id}`);
    await page.getByTestId('output').getByText(line(LINES)).waitFor(WAIT);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download' }).click()]);
    assert.equal(download.suggestedFilename(), `job-${id}-attempt-1.log`);
    const saved = readFileSync((await download.path())!);
    assert.equal(saved.byteLength, LINES * LINE_BYTES);
    const whole = new Uint8Array(await (await fetch(`${scheduler.api}/v1/jobs/${id}/output`)).arrayBuffer());
    assert.equal(sha(saved), sha(whole));
    await page.close();
  });

  it('downloads it with the token when the API needs one', async () => {
    const dataDir = tempDir('baton-dash-out-');
    const token = (await promisify(execFile)(process.execPath, [MAIN, 'token', 'create', '--role', 'viewer', '--name', 'reader', '--data-dir', dataDir])).stdout.trim();
    const secured = await startScheduler({ dataDir, args: ['--auth'] });
    const admin = (await promisify(execFile)(process.execPath, [MAIN, 'token', 'create', '--role', 'operator', '--name', 'ops', '--data-dir', dataDir])).stdout.trim();
    const w = await startWorker(secured);
    try {
      const job = await submitJob(secured.api, { worker_id: w.id, command: 'seq', args: ['1', '200000'] }, admin);
      const page = await browser.newPage();
      await page.goto(`${secured.api}/#/jobs/${job}`);
      await page.locator('input[name=token]').fill(token);
      await page.getByRole('button', { name: 'Use token' }).click();
      await page.getByTestId('output').getByText('200000').waitFor(WAIT);
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download' }).click()]);
      const saved = readFileSync((await download.path())!, 'utf8');
      assert.equal(saved, `${Array.from({ length: 200000 }, (_, i) => i + 1).join('\n')}\n`);
      await page.close();
    } finally {
      await Promise.all([w.kill(), secured.kill()]);
    }
  });
});
