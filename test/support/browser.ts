import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's chromium (`.ci/run` installs it with apt); never a browser downloaded by npm. */
export const CHROMIUM = process.env.BATON_CHROMIUM ?? '/usr/bin/chromium';

/** Headless Chromium with the flags this machine needs (its closed network refuses Google's background calls). */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium (apt-get install -y chromium), as .ci/run does`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    // (Playwright gives each launch a fresh, empty profile of its own.)
  });
}
