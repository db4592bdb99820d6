/**
 * `npm run screenshots`: starts a small cluster, gives it some work, and saves a screenshot of
 * each dashboard page to docs/screenshots/ (for the README and docs/dashboard.md).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanUp, jobsDir, startScheduler, startWorker } from '../test/support/cluster.js';
import { launchBrowser } from '../test/support/browser.js';

const OUT = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));
const scripts = {
  'build.sh':
    '#!/bin/bash\nfor step in fetch compile link test; do printf "\\033[1;34m==>\\033[0m %s\\n" "$step"; sleep 0.2; done\nprintf "\\033[32mok\\033[0m all steps passed\\n"\n',
  'deploy.sh': '#!/bin/bash\nfor i in $(seq 1 400); do printf "\\033[36m[deploy]\\033[0m host-%03d \\033[32mupdated\\033[0m\\n" "$i"; sleep 0.5; done\n',
  'flaky.sh': '#!/bin/bash\necho "connecting to db"; printf "\\033[31merror:\\033[0m connection refused\\n" >&2; exit 2\n',
};

async function post(api: string, body: unknown): Promise<string> {
  const res = await fetch(`${api}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`POST /v1/jobs answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const scheduler = await startScheduler();
  const jobs = jobsDir(scripts);
  const workers = await Promise.all([
    startWorker(scheduler, { id: 'worker-1', jobsDir: jobs, args: ['--label', 'zone=eu'] }),
    startWorker(scheduler, { id: 'worker-2', jobsDir: jobs, args: ['--label', 'zone=us', '--capacity', '4'] }),
  ]);
  for (let i = 0; i < 6; i++) await post(scheduler.api, { command: 'bash', path: 'build.sh' });
  await post(scheduler.api, { command: 'bash', path: 'flaky.sh', retry: { max_attempts: 2, backoff: { base: 0.2 }, on: ['failed'] } });
  await post(scheduler.api, { command: 'bash', path: 'build.sh', labels: { zone: 'gpu' } });
  await post(scheduler.api, { command: 'bash', path: 'flaky.sh' });
  const everywhere = await post(scheduler.api, { command: 'bash', path: 'build.sh', run_on: 'all' });
  const running = await post(scheduler.api, { command: 'bash', path: 'deploy.sh', labels: { zone: 'eu' } });
  await new Promise((r) => setTimeout(r, 4_000));

  const browser = await launchBrowser();
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const shots: Array<[string, string, () => Promise<unknown>]> = [
    ['overview', '#/', () => page.getByTestId('workers-up').waitFor()],
    ['workers', '#/workers', () => page.locator('tr[data-worker]').first().waitFor()],
    ['jobs', '#/jobs', () => page.locator('tr[data-job]').first().waitFor()],
    ['job', `#/jobs/${running}`, () => page.getByTestId('output').getByText('host-005').waitFor()],
    ['copies', `#/jobs/${everywhere}`, () => page.locator('tr[data-child]').nth(1).waitFor()],
    ['submit', '#/submit', () => page.locator('input[name=command]').waitFor()],
  ];
  for (const [name, hash, ready] of shots) {
    await page.goto(`${scheduler.api}/${hash}`);
    await ready();
    await new Promise((r) => setTimeout(r, 500));
    const file = path.join(OUT, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    console.log(`saved ${path.relative(process.cwd(), file)}`);
  }
  // A phone's width: the list scrolls inside its card, the page does not.
  const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
  await phone.goto(`${scheduler.api}/#/jobs`);
  await phone.locator('tr[data-job]').first().waitFor();
  await new Promise((r) => setTimeout(r, 500));
  await phone.screenshot({ path: path.join(OUT, 'jobs-phone.png'), fullPage: true });
  console.log(`saved ${path.relative(process.cwd(), path.join(OUT, 'jobs-phone.png'))}`);
  await browser.close();
  await Promise.all(workers.map((w) => w.kill()));
  await cleanUp();
}

try {
  await main();
} catch (err) {
  console.error(`screenshots failed: ${err instanceof Error ? err.message : String(err)}`);
  await cleanUp();
  process.exit(1);
}
