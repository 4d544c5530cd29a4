// Headless Debian Chromium driven by playwright-core: the browser comes from the project's tools
// (scripts/tools.js installs the Debian package), never from a download. Screenshots go to
// .data/artifacts/<suite>/ (kept after the run; CI can collect them).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { chromium, type Browser, type Page } from 'playwright-core';

export const ARTIFACTS = join(process.cwd(), '.data', 'artifacts');

function chromiumPath(): string {
  if (process.env.SHIPYARD_CHROMIUM) return process.env.SHIPYARD_CHROMIUM;
  return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** Saves a full-page screenshot as a test artifact; returns its path. */
export async function screenshot(page: Page, suite: string, name: string): Promise<string> {
  const dir = join(ARTIFACTS, suite);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
