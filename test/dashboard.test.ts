// The web dashboard in headless Chromium against a real scheduler and workers: submit from the
// form and watch the output arrive, stop a running job, drain a worker, see a worker go down.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startScheduler, startWorker, jobsDir, getJson, tempDir, type SchedulerHandle, type WorkerHandle } from './harness.js';
import { launchBrowser } from './support/browser.js';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const WAIT = { timeout: 60_000 };
const scripts = {
  'color.sh': '#!/bin/bash\nfor i in 1 2 3; do printf "\\033[31mline %s\\033[0m\\n" "$i"; sleep 0.3; done\n',
  'long.sh': '#!/bin/bash\necho started\nsleep 600\n',
};

async function submit(api: string, body: unknown): Promise<string> {
  const res = await fetch(`${api}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(res.status, 201);
  return ((await res.json()) as { id: string }).id;
}

describe('web dashboard', () => {
  let scheduler: SchedulerHandle;
  let workers: WorkerHandle[];
  let browser: Browser;
  let page: Page;

  before(async () => {
    scheduler = await startScheduler({ args: ['--heartbeat-interval', '300ms', '--heartbeat-ttl', '2s'] });
    const jobs = jobsDir(scripts);
    workers = await Promise.all([startWorker(scheduler, { jobsDir: jobs }), startWorker(scheduler, { jobsDir: jobs })]);
    browser = await launchBrowser();
    page = await browser.newPage();
  });
  after(async () => {
    await browser?.close();
    await Promise.all([...workers.map((w) => w.kill()), scheduler.kill()]);
  });

  it('serves the page at / and its files, with the API still answering JSON 404s elsewhere', async () => {
    const res = await fetch(`${scheduler.api}/`);
    assert.equal(res.status, 200);
    const html = await res.text();
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(asset, html);
    assert.equal((await fetch(`${scheduler.api}${asset}`)).status, 200);
    const missing = await getJson(`${scheduler.api}/nope`);
    assert.equal(missing.status, 404);
    assert.match(String(missing.json.error), /no route/);
  });

  it('overview shows workers up and jobs by state', async () => {
    await page.goto(`${scheduler.api}/#/`);
    await page.getByTestId('workers-up').getByText('2', { exact: true }).waitFor(WAIT);
    await page.getByText('live', { exact: false }).first().waitFor(WAIT);
  });

  it('submits a job from the form and shows its output live, in colour', async () => {
    await page.goto(`${scheduler.api}/#/submit`);
    await page.locator('input[name=command]').fill('bash');
    await page.locator('input[name=path]').fill('color.sh');
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.waitForURL(/#\/jobs\/[0-9a-f-]+$/, WAIT);
    const output = page.getByTestId('output');
    await output.getByText('line 1').waitFor(WAIT);
    await output.getByText('line 3').waitFor(WAIT);
    // The job printed its lines in red (ANSI 31): they are shown red, with no escape codes left.
    assert.match((await output.locator('span.ansi-fg-red').first().textContent()) ?? '', /^line 1/);
    assert.doesNotMatch((await output.textContent()) ?? '', /\[31m|\x1b/);
    await page.getByTestId('job-state').getByText('succeeded').waitFor(WAIT);
    await page.getByTestId('job-exit').getByText('code 0').waitFor(WAIT);
  });

  it('reads the timeout as every duration is: 1m30s is 90 seconds and shown so, words are refused', async () => {
    await page.goto(`${scheduler.api}/#/submit`);
    await page.locator('input[name=command]').fill('true');
    await page.locator('input[name=timeout]').fill('5 minutes');
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.getByRole('alert').getByText('timeout "5 minutes": not a duration; use a number of seconds or a unit, e.g. 30s, 5m, 500ms').waitFor(WAIT);
    await page.locator('input[name=timeout]').fill('1m30s');
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.waitForURL(/#\/jobs\/[0-9a-f-]+$/, WAIT);
    const id = decodeURIComponent(/#\/jobs\/(.+)$/.exec(page.url())![1]!);
    assert.equal((await getJson(`${scheduler.api}/v1/jobs/${id}`)).json.timeout, 90);
    await page.getByTestId('job-timeout').getByText('1m30s', { exact: true }).waitFor(WAIT);
  });

  it('stops a running job with the stop button', async () => {
    const id = await submit(scheduler.api, { command: 'bash', path: 'long.sh' });
    await page.goto(`${scheduler.api}/#/jobs/${id}`);
    await page.getByTestId('output').getByText('started').waitFor(WAIT);
    await page.getByRole('button', { name: 'Stop job' }).click();
    await page.getByTestId('job-state').getByText('stopped').waitFor(WAIT);
    assert.equal((await getJson(`${scheduler.api}/v1/jobs/${id}`)).json.state, 'stopped');
  });

  it('lists jobs, filtered by state', async () => {
    await page.goto(`${scheduler.api}/#/jobs`);
    await page.locator('tr[data-job]').first().waitFor(WAIT);
    await page.locator('select[name=state]').selectOption('stopped');
    // Runs in the page (a string, so this file needs no DOM types).
    await page.waitForFunction(
      `(() => { const rows = [...document.querySelectorAll('tr[data-job]')]; return rows.length === 1 && rows[0].textContent.includes('stopped'); })()`,
      undefined,
      WAIT,
    );
  });

  it('links a job to what it waits for and to what waits for it', async () => {
    const first = await submit(scheduler.api, { command: 'bash', path: 'long.sh' });
    const next = await submit(scheduler.api, { command: 'true', after: [first] });
    await page.goto(`${scheduler.api}/#/jobs/${first}`);
    const dependent = page.getByTestId('job-dependents').locator(`[data-job="${next}"]`);
    await dependent.getByText('waiting').waitFor(WAIT);
    await dependent.getByRole('link', { name: next }).click();
    await page.waitForURL(new RegExp(`#/jobs/${next}$`), WAIT);
    await page.getByTestId('job-state').getByText(`waiting for job ${first} to succeed`).waitFor(WAIT);
    await page.getByTestId('job-after').getByRole('link', { name: first }).click();
    await page.waitForURL(new RegExp(`#/jobs/${first}$`), WAIT);
    await page.getByRole('button', { name: 'Stop job' }).click();
    // The job it stopped skips the one after it, and the link says so live.
    await page.getByTestId('job-dependents').locator(`[data-job="${next}"]`).getByText('skipped').waitFor(WAIT);
    assert.equal((await getJson(`${scheduler.api}/v1/jobs/${next}`)).json.state, 'skipped');
  });

  it('schedules page: next run, pause, resume and trigger with its buttons, the last run with its state', async () => {
    const made = await fetch(`${scheduler.api}/v1/schedules`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'dash-nightly', cron: '30 2 * * *', timezone: 'Europe/Berlin', job: { command: 'true' } }),
    });
    assert.equal(made.status, 201);
    await page.goto(`${scheduler.api}/#/schedules`);
    const row = page.locator('tr[data-schedule="dash-nightly"]');
    await row.getByText(/^in /).waitFor(WAIT);
    await row.getByRole('button', { name: 'Pause' }).click();
    await row.getByRole('button', { name: 'Resume' }).waitFor(WAIT);
    assert.equal((await getJson(`${scheduler.api}/v1/schedules/dash-nightly`)).json.paused, true);
    await row.getByRole('button', { name: 'Resume' }).click();
    await row.getByRole('button', { name: 'Pause' }).waitFor(WAIT);
    await row.getByRole('button', { name: 'Trigger' }).click();
    await row.getByText('succeeded').waitFor(WAIT);
  });

  it('drains a worker with its button, and shows a worker going down', async () => {
    await page.goto(`${scheduler.api}/#/workers`);
    const [first, second] = workers as [WorkerHandle, WorkerHandle];
    const row = page.locator(`tr[data-worker="${first.id}"]`);
    await row.getByRole('button', { name: 'Drain' }).click();
    await row.getByText('(draining)').waitFor(WAIT);
    assert.equal((await getJson(`${scheduler.api}/v1/workers/${first.id}`)).json.draining, true);
    await row.getByRole('button', { name: 'Undrain' }).click();
    await row.getByRole('button', { name: 'Drain' }).waitFor(WAIT);

    await second.kill('SIGKILL');
    // No reload: the page hears of it over the event stream.
    await page.locator(`tr[data-worker="${second.id}"]`).getByText('down').waitFor(WAIT);
  });

  it('asks for a token when the API needs one, and works with it', async () => {
    const dataDir = tempDir('baton-dash-auth-');
    const token = (await promisify(execFile)(process.execPath, [MAIN, 'token', 'create', '--role', 'operator', '--name', 'web', '--data-dir', dataDir])).stdout.trim();
    const secured = await startScheduler({ dataDir, args: ['--auth'] });
    try {
      const p = await browser.newPage();
      await p.goto(`${secured.api}/#/workers`);
      await p.getByText('This scheduler needs an API token').waitFor(WAIT);
      await p.locator('input[name=token]').fill(token);
      await p.getByRole('button', { name: 'Use token' }).click();
      await p.getByRole('heading', { name: 'Workers' }).waitFor(WAIT);
      await p.getByText('No worker has registered yet').waitFor(WAIT);
      await p.close();
    } finally {
      await secured.kill();
    }
  });

  it('a wrong token in the form costs one failed attempt and is refused there; the right one works after', async () => {
    const dataDir = tempDir('baton-dash-typo-');
    const token = (await promisify(execFile)(process.execPath, [MAIN, 'token', 'create', '--role', 'viewer', '--name', 'web', '--data-dir', dataDir])).stdout.trim();
    // A budget of two: before the form checked a token once, a wrong one spent it on the page's first burst of calls.
    const secured = await startScheduler({ dataDir, args: ['--auth', '--auth-max-failures', '2'] });
    const failed = () => secured.logs.filter((l) => l.msg === 'audit' && (l.auth_failure === 'bad_token' || l.auth_failure === 'throttled'));
    try {
      const p = await browser.newPage();
      await p.goto(`${secured.api}/#/`);
      await p.locator('input[name=token]').fill(`${token}x`);
      await p.getByRole('button', { name: 'Use token' }).click();
      await p.getByText('This token was not accepted').waitFor(WAIT);
      await secured.waitForLog((l) => l.msg === 'audit' && l.auth_failure === 'bad_token');
      await p.locator('input[name=token]').fill(token);
      await p.getByRole('button', { name: 'Use token' }).click();
      await p.getByTestId('workers-up').waitFor(WAIT);
      await p.reload();
      await p.getByTestId('workers-up').waitFor(WAIT);
      assert.deepEqual(
        failed().map((l) => l.route),
        ['/v1/workers'],
        'one failed attempt: the check of the wrong token',
      );
      await p.close();
    } finally {
      await secured.kill();
    }
  });
});
