/**
 * Headless Chromium for the console's browser tests: Debian's `chromium` package driven by
 * playwright-core (never a downloaded browser), axe-core injected for accessibility checks, and
 * screenshots under test-artifacts/ (gitignored).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { REPO_ROOT } from './paths.js';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = join(REPO_ROOT, 'test-artifacts', 'console');

export const VIEWPORTS = [
  { width: 1280, height: 800 },
  { width: 390, height: 844 },
] as const;

/** Chromium as the issue asks for it: no sandbox (root in CI), nothing fetched in the background. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--headless',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: unknown; failureSummary?: string }>;
}

/**
 * Runs axe-core in the page and returns its serious and critical violations. The source is
 * evaluated through the DevTools protocol, which the page's CSP does not govern, so the CSP under
 * test stays as strict as it is in production.
 */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  // The source declares `var axe`, which evaluation keeps local: publish it on window.
  if ((await page.evaluate('typeof window.axe')) === 'undefined') await page.evaluate(`${AXE_SOURCE}\n;window.axe = axe;`);
  const violations = (await page.evaluate(`
    window.axe.run(document, { resultTypes: ['violations'] }).then((r) =>
      r.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })),
      })),
    )
  `)) as AxeViolation[];
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** A full-page screenshot at test-artifacts/console/<name>-<w>x<h>.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const size = page.viewportSize();
  const file = join(ARTIFACTS, `${name}-${size?.width ?? 0}x${size?.height ?? 0}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
