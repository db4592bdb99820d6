// The web dashboard in headless Chromium against a real scheduler and workers: submit from the
// form and watch the output arrive, stop a running job, drain a worker, see a worker go down;
// links and filters that survive a reload, re-run, roles, run_on-all copies, the chart, a phone's
// width, exits read as the CLI reads them, and unreachable workers.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startScheduler, startWorker, jobsDir, getJson, tempDir, freePort, waitForFinal, type SchedulerHandle, type WorkerHandle } from './harness.js';
import { launchBrowser } from './support/browser.js';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const WAIT = { timeout: 60_000 };
const scripts = {
  'color.sh': '#!/bin/bash\nfor i in 1 2 3; do printf "\\033[31mline %s\\033[0m\\n" "$i"; sleep 0.3; done\n',
  'long.sh': '#!/bin/bash\necho started\nsleep 600\n',
  'fail.sh': '#!/bin/bash\necho failing; exit 3\n',
};

/** Runs in the page (a string, so this file needs no DOM types): the page is no wider than the window. */
const NO_OVERFLOW = `document.documentElement.scrollWidth <= window.innerWidth && document.body.scrollWidth <= window.innerWidth`;

async function token(dataDir: string, role: string, name: string): Promise<string> {
  return (await promisify(execFile)(process.execPath, [MAIN, 'token', 'create', '--role', role, '--name', name, '--data-dir', dataDir])).stdout.trim();
}

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
    workers = await Promise.all([startWorker(scheduler, { jobsDir: jobs, args: ['--label', 'zone=eu'] }), startWorker(scheduler, { jobsDir: jobs, args: ['--label', 'zone=us'] })]);
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
    await page.getByTestId('job-exit').getByText('0', { exact: true }).waitFor(WAIT);
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

  it('stops a running job with the stop button, once confirmed, and shows its exit as the CLI does', async () => {
    const id = await submit(scheduler.api, { command: 'bash', path: 'long.sh', name: 'long-one' });
    await page.goto(`${scheduler.api}/#/jobs/${id}`);
    await page.getByTestId('output').getByText('started').waitFor(WAIT);
    // A job submitted with a name has it in the page's title.
    assert.equal((await page.getByTestId('job-title').textContent())?.replace(/\s+/g, ' ').trim(), `Job long-one ${id}`);
    // The first click only asks; Cancel leaves the job running.
    await page.getByRole('button', { name: 'Stop job' }).click();
    await page.getByRole('group', { name: /^Stop this job\?/ }).waitFor(WAIT);
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('button', { name: 'Stop job' }).waitFor(WAIT);
    assert.equal((await getJson(`${scheduler.api}/v1/jobs/${id}`)).json.state, 'running');
    await page.getByRole('button', { name: 'Stop job' }).click();
    await page.getByRole('button', { name: 'Yes, stop it' }).click();
    await page.getByTestId('job-state').getByText('stopped').waitFor(WAIT);
    assert.equal((await getJson(`${scheduler.api}/v1/jobs/${id}`)).json.state, 'stopped');
    // As `baton status` prints it: 143, and the signal that ended it.
    await page
      .getByTestId('job-exit')
      .getByText(/^143 \(SIGTERM\)/)
      .waitFor(WAIT);
  });

  it('shows a command that is not there as exit 127, as the CLI does, in the list and on the job', async () => {
    // Submitted while no worker takes jobs, it is refused by the worker once placed (not at submit).
    const drain = (method: string) => Promise.all(workers.map((w) => fetch(`${scheduler.api}/v1/workers/${w.id}/drain`, { method })));
    await drain('POST');
    const id = await submit(scheduler.api, { command: 'no-such-command-for-baton' });
    await drain('DELETE');
    const done = await waitForFinal(scheduler.api, id);
    assert.equal(done.error_code, 'command_not_found', JSON.stringify(done));
    await page.goto(`${scheduler.api}/#/jobs/${id}`);
    await page
      .getByTestId('job-exit')
      .getByText(/^127 — /)
      .waitFor(WAIT);
    await page.goto(`${scheduler.api}/#/jobs?state=failed`);
    await page.locator(`tr[data-job="${id}"]`).getByTestId('exit').getByText('127', { exact: true }).waitFor(WAIT);
  });

  it('re-runs a job: a copy of its spec is submitted and the new job is shown', async () => {
    const id = await submit(scheduler.api, { command: 'bash', path: 'color.sh', labels: {}, env: { GREETING: 'hi' }, timeout: 120, priority: 3 });
    await waitForFinal(scheduler.api, id);
    await page.goto(`${scheduler.api}/#/jobs/${id}`);
    await page.getByTestId('job-state').getByText('succeeded').waitFor(WAIT);
    await page.getByRole('button', { name: 'Re-run' }).click();
    await page.waitForURL((url) => /#\/jobs\/[0-9a-f-]+$/.test(url.hash) && !url.hash.includes(id), WAIT);
    const copy = decodeURIComponent(/#\/jobs\/(.+)$/.exec(page.url())![1]!);
    await page.getByTestId('output').getByText('line 3').waitFor(WAIT);
    const [a, b] = [(await getJson(`${scheduler.api}/v1/jobs/${id}`)).json, (await getJson(`${scheduler.api}/v1/jobs/${copy}`)).json];
    for (const key of ['command', 'path', 'args', 'env', 'timeout', 'priority', 'labels', 'retry'] as const) assert.deepEqual(b[key], a[key], key);
  });

  it("shows a run_on-all job's copies, one per worker, and each copy links back", async () => {
    const id = await submit(scheduler.api, { command: 'bash', path: 'color.sh', run_on: 'all' });
    await page.goto(`${scheduler.api}/#/jobs/${id}`);
    const children = page.getByTestId('children');
    await children.getByText('Copies, one per worker (2)').waitFor(WAIT);
    await page.waitForFunction(`document.querySelectorAll('[data-testid=children] tr[data-child]').length === 2`, undefined, WAIT);
    for (const w of workers) await children.getByText(w.id, { exact: true }).waitFor(WAIT);
    await page.getByTestId('job-state').getByText('succeeded').waitFor(WAIT);
    await children.locator('tr[data-child] a').first().click();
    await page.getByTestId('job-parent').getByRole('link', { name: id }).click();
    await page.waitForURL((url) => url.hash === `#/jobs/${id}`, WAIT);
  });

  it('the overview chart has axes, values, and succeeded split from failed', async () => {
    const failed = await submit(scheduler.api, { command: 'bash', path: 'fail.sh' });
    await waitForFinal(scheduler.api, failed);
    await page.goto(`${scheduler.api}/#/`);
    const chart = page.getByTestId('throughput');
    await chart.getByText('now', { exact: true }).waitFor(WAIT);
    await chart.getByText('−10m', { exact: true }).waitFor(WAIT);
    // Both kinds are drawn, and the numbers written on the bars add up to the bars' counts.
    const sums = `(() => { let s = 0, f = 0, v = 0; for (const g of document.querySelectorAll('[data-testid=throughput] g.minute')) { s += Number(g.dataset.succeeded); f += Number(g.dataset.failed); v += Number(g.querySelector('text.value')?.textContent ?? 0); } return s >= 1 && f >= 1 && v === s + f && document.querySelectorAll('[data-testid=throughput] rect.ok').length > 0 && document.querySelectorAll('[data-testid=throughput] rect.bad').length > 0; })()`;
    await page.waitForFunction(sums, undefined, WAIT);
    // The y axis counts from 0.
    await chart.locator('g.tick text').getByText('0', { exact: true }).waitFor(WAIT);
    await chart.getByText(/^failed, timed out, lost or stopped \([1-9]\d*\)$/).waitFor(WAIT);
  });

  it("the overview's state chips open the jobs list filtered by that state", async () => {
    await page.goto(`${scheduler.api}/#/`);
    await page
      .locator('a.state-count')
      .filter({ has: page.locator('.badge', { hasText: /^failed$/ }) })
      .click();
    await page.waitForURL((url) => url.hash === '#/jobs?state=failed', WAIT);
    assert.equal(await page.locator('select[name=state]').inputValue(), 'failed');
    await page.waitForFunction(
      `(() => { const rows = [...document.querySelectorAll('tr[data-job]')]; return rows.length >= 2 && rows.every((r) => r.textContent.includes('failed')); })()`,
      undefined,
      WAIT,
    );
  });

  it('an unknown address shows "page not found" with a way back', async () => {
    for (const hash of ['#/no-such-page', '#/workers/extra', '#/jobs/a/b']) {
      await page.goto(`${scheduler.api}/${hash}`);
      await page.getByTestId('not-found').getByText('Page not found').waitFor(WAIT);
    }
    await page.getByRole('link', { name: '← Back to the overview' }).click();
    await page.getByTestId('workers-up').waitFor(WAIT);
    await page.goto(`${scheduler.api}/#/jobs/no-such-job`);
    await page.getByRole('alert').waitFor(WAIT);
    await page.getByRole('link', { name: '← Back to the jobs' }).click();
    await page.waitForURL((url) => url.hash === '#/jobs', WAIT);
  });

  it('keeps the jobs filters in the address: a reload or a shared link shows the same list', async () => {
    const eu = await submit(scheduler.api, { command: 'bash', path: 'color.sh', labels: { zone: 'eu' }, args: ['marker-eu'] });
    await submit(scheduler.api, { command: 'bash', path: 'color.sh', labels: { zone: 'us' }, args: ['marker-us'] });
    const ran = String((await waitForFinal(scheduler.api, eu)).worker_id);
    await page.goto(`${scheduler.api}/#/jobs`);
    await page.locator('tr[data-job]').first().waitFor(WAIT);
    await page.locator('select[name=state]').selectOption('succeeded');
    await page.locator('input[name=label]').fill('zone=eu');
    await page.locator('input[name=search]').fill('marker');
    await page.waitForURL((url) => url.hash === '#/jobs?state=succeeded&label=zone%3Deu&q=marker', WAIT);
    const one = `(() => { const rows = [...document.querySelectorAll('tr[data-job]')]; return rows.length === 1 && rows[0].dataset.job === ${JSON.stringify(eu)}; })()`;
    await page.waitForFunction(one, undefined, WAIT);
    await page.reload();
    await page.waitForFunction(one, undefined, WAIT);
    assert.equal(await page.locator('select[name=state]').inputValue(), 'succeeded');
    assert.equal(await page.locator('input[name=label]').inputValue(), 'zone=eu');
    assert.equal(await page.locator('input[name=search]').inputValue(), 'marker');
    // A link made by hand, in a fresh page: the worker filter too.
    const shared = await browser.newPage();
    try {
      await shared.goto(`${scheduler.api}/#/jobs?worker=${encodeURIComponent(ran)}&q=marker-eu`);
      await shared.waitForFunction(one, undefined, WAIT);
      assert.equal(await shared.locator('select[name=worker]').inputValue(), ran);
    } finally {
      await shared.close();
    }
  });

  it('at 390 px wide no page is wider than the screen', async () => {
    await submit(scheduler.api, {
      command: 'bash',
      path: 'color.sh',
      args: ['a-rather-long-argument-that-would-widen-a-table-'.repeat(4)],
      labels: { zone: 'eu' },
    });
    const schedule = await fetch(`${scheduler.api}/v1/schedules`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'phone-width', cron: '0 3 * * *', job: { command: 'bash', args: ['-c', 'echo a-long-scheduled-command-line '.repeat(6)] } }),
    });
    assert.equal(schedule.status, 201);
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
    try {
      const job = await submit(scheduler.api, { command: 'bash', path: 'fail.sh', args: ['x'.repeat(200)] });
      await waitForFinal(scheduler.api, job);
      const pages: Array<[string, () => Promise<unknown>]> = [
        ['#/', () => phone.getByTestId('workers-up').waitFor(WAIT)],
        ['#/workers', () => phone.locator('tr[data-worker]').first().waitFor(WAIT)],
        ['#/jobs', () => phone.locator('tr[data-job]').first().waitFor(WAIT)],
        [`#/jobs/${job}`, () => phone.getByTestId('job-exit').getByText(/^3 — /).waitFor(WAIT)],
        ['#/schedules', () => phone.locator('tr[data-schedule]').first().waitFor(WAIT)],
        ['#/submit', () => phone.locator('input[name=command]').waitFor(WAIT)],
      ];
      for (const [hash, ready] of pages) {
        await phone.goto(`${scheduler.api}/${hash}`);
        await ready();
        const width = (await phone.evaluate('document.documentElement.scrollWidth')) as number;
        assert.ok(await phone.evaluate(NO_OVERFLOW), `${hash} is ${width} px wide at 390`);
      }
    } finally {
      await phone.close();
    }
  });

  it('lists jobs, filtered by state', async () => {
    await page.goto(`${scheduler.api}/#/jobs`);
    await page.locator('tr[data-job]').first().waitFor(WAIT);
    await page.locator('select[name=state]').selectOption('stopped');
    // Runs in the page (a string, so this file needs no DOM types).
    const onlyStopped = `(() => { const rows = [...document.querySelectorAll('tr[data-job]')]; return rows.length === 1 && rows[0].textContent.includes('stopped'); })()`;
    await page.waitForFunction(onlyStopped, undefined, WAIT);
    assert.match(page.url(), /#\/jobs\?state=stopped$/);
    await page.reload();
    await page.waitForFunction(onlyStopped, undefined, WAIT);
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
    await page.getByRole('button', { name: 'Yes, stop it' }).click();
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
    // Asked first: nothing changes until the answer.
    await row.getByRole('group', { name: /^Drain .*\? It takes no new jobs/ }).waitFor(WAIT);
    assert.equal((await getJson(`${scheduler.api}/v1/workers/${first.id}`)).json.draining, false);
    await row.getByRole('button', { name: 'Yes, drain' }).click();
    await row.getByText('(draining)').waitFor(WAIT);
    assert.equal((await getJson(`${scheduler.api}/v1/workers/${first.id}`)).json.draining, true);
    await row.getByRole('button', { name: 'Undrain' }).click();
    await row.getByRole('button', { name: 'Drain' }).waitFor(WAIT);

    await second.kill('SIGKILL');
    // No reload: the page hears of it over the event stream.
    await page.locator(`tr[data-worker="${second.id}"]`).getByText('down').waitFor(WAIT);
  });

  it('shows a worker the scheduler cannot dial as unreachable, with why', async () => {
    const advertised = await freePort();
    const bad = await startWorker(scheduler, { args: ['--advertise', `127.0.0.1:${advertised}`] });
    workers.push(bad);
    await page.goto(`${scheduler.api}/#/workers`);
    const row = page.locator(`tr[data-worker="${bad.id}"]`);
    await row.locator('.badge').getByText('unreachable', { exact: true }).waitFor(WAIT);
    await row.getByTestId('unreachable-why').getByText(`cannot connect to 127.0.0.1:${advertised}`, { exact: false }).waitFor(WAIT);
    await page.goto(`${scheduler.api}/#/`);
    await page.getByTestId('workers-down').getByText('unreachable (1)', { exact: false }).waitFor(WAIT);
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
      // Says what is wrong and what to check, not just that a call failed.
      await p
        .getByRole('alert')
        .getByText(
          'This token was not accepted: the scheduler has no live token like it. Check it was copied whole, that it was not revoked (baton token list), and that it was made for this scheduler.',
        )
        .waitFor(WAIT);
      await secured.waitForLog((l) => l.msg === 'audit' && l.auth_failure === 'bad_token');
      await p.locator('input[name=token]').fill(token);
      await p.getByRole('button', { name: 'Use token' }).click();
      await p.getByTestId('workers-up').waitFor(WAIT);
      await p.reload();
      await p.getByTestId('workers-up').waitFor(WAIT);
      assert.deepEqual(
        failed().map((l) => l.route),
        ['/v1/whoami'],
        'one failed attempt: the check of the wrong token',
      );
      await p.close();
    } finally {
      await secured.kill();
    }
  });

  it('shows a viewer no button it cannot use, an operator no admin button, and whose token is in use', async () => {
    const dataDir = tempDir('baton-dash-roles-');
    const viewer = await token(dataDir, 'viewer', 'looker');
    const operator = await token(dataDir, 'operator', 'doer');
    const secured = await startScheduler({ dataDir, args: ['--auth'] });
    const jobs = jobsDir(scripts);
    const worker = await startWorker(secured, { jobsDir: jobs });
    try {
      const res = await fetch(`${secured.api}/v1/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${operator}` },
        body: JSON.stringify({ command: 'bash', path: 'long.sh' }),
      });
      assert.equal(res.status, 201);
      const id = ((await res.json()) as { id: string }).id;
      const as = async (secret: string) => {
        const p = await browser.newPage();
        await p.goto(`${secured.api}/#/jobs/${id}`);
        await p.locator('input[name=token]').fill(secret);
        await p.getByRole('button', { name: 'Use token' }).click();
        await p.getByTestId('output').getByText('started').waitFor(WAIT);
        return p;
      };

      const v = await as(viewer);
      await v.getByTestId('who').getByText('looker · viewer').waitFor(WAIT);
      assert.equal(await v.getByRole('button', { name: 'Stop job' }).count(), 0);
      assert.equal(await v.getByRole('button', { name: 'Re-run' }).count(), 0);
      assert.equal(await v.getByRole('link', { name: 'Submit' }).count(), 0);
      await v.goto(`${secured.api}/#/workers`);
      await v.locator(`tr[data-worker="${worker.id}"]`).getByText('up').waitFor(WAIT);
      assert.equal(await v.getByRole('button', { name: 'Drain' }).count(), 0);
      await v.goto(`${secured.api}/#/submit`);
      await v.getByText('Your token may not submit jobs: that needs the operator role.', { exact: false }).waitFor(WAIT);
      await v.close();

      const o = await as(operator);
      await o.getByTestId('who').getByText('doer · operator').waitFor(WAIT);
      await o.getByRole('button', { name: 'Re-run' }).waitFor(WAIT);
      await o.getByRole('link', { name: 'Submit' }).waitFor(WAIT);
      await o.getByRole('button', { name: 'Stop job' }).click();
      await o.getByRole('button', { name: 'Yes, stop it' }).click();
      await o.getByTestId('job-state').getByText('stopped').waitFor(WAIT);
      await o.goto(`${secured.api}/#/workers`);
      await o.locator(`tr[data-worker="${worker.id}"]`).getByText('up').waitFor(WAIT);
      assert.equal(await o.getByRole('button', { name: 'Drain' }).count(), 0);
      await o.close();
    } finally {
      await worker.kill();
      await secured.kill();
    }
  });

  it('GET /v1/whoami without tokens (--no-auth): anonymous, with every right', async () => {
    assert.deepEqual((await getJson(`${scheduler.api}/v1/whoami`)).json, { name: 'anonymous', role: 'admin', auth: false });
  });
});
