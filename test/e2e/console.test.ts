import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { cliJson } from '../helpers/cli.js';
import { CHROMIUM, launchChromium, screenshot, seriousViolations, VIEWPORTS } from '../helpers/browser.js';
import { tempDir } from '../helpers/paths.js';
import type { Daemon } from '../helpers/processes.js';
import { allowAll } from '../helpers/scopes.js';
import { requirePrerequisite } from '../helpers/services.js';
import { startServe } from '../helpers/serve.js';

const FS_PROVIDER = 'cf56bd3e-97a7-4078-b6d5-f36246333fd9';
/** Enough data that a protect reports progress many times (fs.directory reports every 8 MiB). */
const FILES = 20;
const FILE_BYTES = 8 * 1024 * 1024;

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/**
 * The operator web console in headless Chromium (Debian's package, driven by playwright-core)
 * against a real `bulwark serve`: sign-in, a plan made in the form, a protect followed live to
 * `available`, a restore from the generated form, suspending a scheduled operation, tenancy, and
 * screenshots plus an axe-core check of every main page at desktop and phone sizes.
 */
describe('e2e: the web console in headless Chromium', function () {
  this.timeout(300_000);
  const home = tempDir('console');
  // Outside the home: the API names places in the home only as `<Bulwark home>`, and restores never write there.
  const work = tempDir('console-data');
  const data = join(work.path, 'data');
  const restored = join(work.path, 'restored');
  let serve: Daemon;
  let url = '';
  let token = '';
  let otherToken = '';
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let planId = '';
  let checkpointId = '';

  const rest = async (method: string, path: string, body?: unknown, as = token) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { 'x-auth-token': as, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, json: (text ? JSON.parse(text) : {}) as Record<string, Record<string, unknown>> };
  };

  /** Signs in through the form, as an operator pastes a token. */
  const signIn = async (p: Page, secret: string) => {
    await p.goto(`${url}/`);
    await p.getByLabel('API token').fill(secret);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByRole('button', { name: 'Sign out' }).waitFor();
  };

  before(async function () {
    // Skips without Debian's chromium, or fails under BULWARK_REQUIRE_SERVICES=1 (CI installs it).
    requirePrerequisite(this, `Chromium at ${CHROMIUM} (apt-get install chromium)`, existsSync(CHROMIUM) ? CHROMIUM : undefined);
    mkdirSync(data);
    for (let i = 0; i < FILES; i++) writeFileSync(join(data, `part-${i}.bin`), randomBytes(FILE_BYTES));
    allowAll(home.path, ['console', 'other']);
    ({ serve, url } = await startServe(home.path));
    token = (await cliJson<{ token: string }>(home.path, ['token', 'create', '--project', 'console', '--role', 'member'])).token;
    otherToken = (await cliJson<{ token: string }>(home.path, ['token', 'create', '--project', 'other', '--role', 'member'])).token;
    browser = await launchChromium();
    context = await browser.newContext({ viewport: VIEWPORTS[0], locale: 'en-US', timezoneId: 'UTC' });
    page = await context.newPage();
  });
  after(async () => {
    await browser?.close();
    await serve?.stop();
    home.cleanup();
    work.cleanup();
  });

  it('refuses a wrong token with the API error, signs in with a right one, and keeps it out of the URL', async () => {
    await page.goto(`${url}/`);
    await page.getByLabel('API token').fill('bwk_not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'BWK_ERR_UNAUTHORIZED' }).waitFor();
    await signIn(page, token);
    await page.getByText('Project console (member)').waitFor();
    expect(page.url()).not.to.include(token);
    expect(await page.evaluate("sessionStorage.getItem('bulwark.token')")).to.equal(token);
    expect(await page.evaluate('localStorage.length + document.cookie.length')).to.equal(0);
  });

  it('creates a plan from the form', async () => {
    await page.getByRole('link', { name: 'Plans', exact: true }).click();
    await page.getByRole('link', { name: 'New plan' }).click();
    await page.getByLabel('Name').fill('console-www');
    await page.getByLabel('Provider').selectOption({ label: 'fs-directory' });
    await page.getByLabel('Resource 1 type').selectOption('fs.directory');
    await page.getByLabel('Resource 1 id').fill(data);
    await page.getByRole('button', { name: 'Create plan' }).click();
    await page.getByRole('heading', { name: 'Plan console-www' }).waitFor();
    const plans = (await rest('GET', '/v1/console/plans')).json.plans as unknown as Array<{ id: string; name: string; resources: unknown }>;
    expect(plans.map((p) => p.name)).to.deep.equal(['console-www']);
    expect(plans[0]!.resources).to.deep.equal([{ type: 'fs.directory', id: data, name: data }]);
    planId = plans[0]!.id;
    expect(page.url()).to.include(planId);
  });

  it('starts a protect and shows it reach available, progress moving, without a reload', async () => {
    // A reload would drop this marker; the observer records every progress figure the page shows.
    await page.evaluate(`
      window.sameDocument = true;
      window.seen = [];
      new MutationObserver(() => {
        const done = document.querySelector('.progress-text')?.getAttribute('data-done');
        if (done && window.seen.at(-1) !== done) window.seen.push(done);
      }).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    `);
    await page.getByRole('button', { name: 'Protect now' }).click();
    await page.getByRole('heading', { name: 'Checkpoint', exact: true }).waitFor();
    checkpointId = /checkpoints\/[^/]+\/([0-9a-f-]+)/.exec(page.url())![1]!;
    await page.locator('dl.props .status', { hasText: 'available' }).waitFor({ timeout: 240_000 });
    const seen = (await page.evaluate('window.seen.map(Number)')) as number[];
    expect(await page.evaluate('window.sameDocument')).to.equal(true);
    expect(seen.length, `progress figures shown: ${seen.join(', ')}`).to.be.greaterThan(1);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!, `progress ${seen.join(', ')}`).to.be.greaterThan(seen[i - 1]!);
    const checkpoint = (await rest('GET', `/v1/console/providers/${FS_PROVIDER}/checkpoints/${checkpointId}`)).json.checkpoint!;
    expect(checkpoint.status).to.equal('available');
    // The graph node of the directory is drawn in the status the checkpoint records for it.
    const node = page.locator(`.graph g.node[data-ref="fs.directory#${data}"]`);
    expect(await node.getAttribute('data-status')).to.equal('available');
    expect(await node.getAttribute('class')).to.include('ok');
  });

  it('restores from the form generated from the restore schema, and shows it succeed', async () => {
    await page.getByLabel('target_path').fill(restored);
    await page.getByLabel('conflict').selectOption('fail');
    await page.getByRole('button', { name: 'Start restore' }).click();
    const result = page.getByRole('region', { name: /^Restore .* result$/ }).locator('.status', { hasText: /^(success|fail)$/ });
    await result.waitFor({ timeout: 240_000 });
    expect(await result.textContent()).to.equal('success');
    expect(await page.evaluate('window.sameDocument')).to.equal(true);
    const restores = (await rest('GET', '/v1/console/restores')).json.restores as unknown as Array<Record<string, unknown>>;
    expect(restores).to.have.length(1);
    expect(restores[0]).to.deep.include({ checkpoint_id: checkpointId, status: 'success' });
    expect(restores[0]!.parameters).to.deep.equal({ 'fs.directory': { target_path: restored, conflict: 'fail' } });
    const names = readdirSync(data).sort();
    expect(readdirSync(restored).sort()).to.deep.equal(names);
    for (const n of names.slice(0, 3)) expect(sha(join(restored, n)), n).to.equal(sha(join(data, n)));
  });

  it('verifies from the checkpoint page and shows it succeed', async () => {
    await page.getByRole('button', { name: 'Start verification' }).click();
    const result = page.getByRole('region', { name: /^Verification .* result$/ }).locator('.status', { hasText: /^(success|fail)$/ });
    await result.waitFor({ timeout: 240_000 });
    expect(await result.textContent()).to.equal('success');
    const verifications = (await rest('GET', '/v1/console/verifications')).json.verifications as unknown as Array<Record<string, unknown>>;
    expect(verifications.map((v) => [v.checkpoint_id, v.status])).to.deep.equal([[checkpointId, 'success']]);
  });

  it('suspends a scheduled operation (and resumes it and runs it now)', async () => {
    const made = await rest('POST', '/v1/console/triggers', {
      trigger_info: { name: 'nightly', type: 'time', properties: { pattern: '0 3 * * *', format: 'crontab' } },
    });
    expect(made.status, JSON.stringify(made.json)).to.equal(200);
    const trigger = made.json.trigger_info!;
    const scheduled = await rest('POST', '/v1/console/scheduled_operations', {
      scheduled_operation: {
        name: 'nightly-www',
        operation_type: 'protect',
        trigger_id: trigger.id,
        operation_definition: { plan_id: planId, provider_id: FS_PROVIDER },
      },
    });
    expect(scheduled.status, JSON.stringify(scheduled.json)).to.equal(200);
    const op = scheduled.json.scheduled_operation!;
    // The overview shows the plan's last checkpoint and, now that it is scheduled, its next fire.
    await page.getByRole('link', { name: 'Overview' }).click();
    const overviewRow = page.locator('tbody tr', { hasText: 'console-www' });
    await overviewRow.waitFor();
    const cells = await overviewRow.locator('td').allTextContents();
    expect(cells[1]).to.match(/^available /);
    expect(cells[2]).to.equal(new Date(String(op.next_due_at)).toLocaleString('en-US', { timeZone: 'UTC' }));
    expect(cells[3]).to.equal('0');
    await page.getByRole('link', { name: 'Scheduled operations' }).click();
    const row = page.locator(`tr[data-id="${String(op.id)}"]`);
    await row.locator('.status', { hasText: 'enabled' }).waitFor();
    await page.getByRole('button', { name: 'Suspend nightly-www' }).click();
    await row.locator('.status', { hasText: 'suspended' }).waitFor();
    await page.getByRole('button', { name: 'Resume nightly-www' }).waitFor();
    const stored = (await rest('GET', `/v1/console/scheduled_operations/${String(op.id)}`)).json.scheduled_operation!;
    expect(stored.status).to.equal('suspended');
    // Resumed, then run now: the run is queued for the operation engine and logged.
    await page.getByRole('button', { name: 'Resume nightly-www' }).click();
    await row.locator('.status', { hasText: 'enabled' }).waitFor();
    await page.getByRole('button', { name: 'Run now: nightly-www' }).click();
    const queued = await page.getByRole('status').filter({ hasText: 'Run of nightly-www queued' }).textContent();
    const logId = /operation log ([0-9a-f-]+)/.exec(queued ?? '')?.[1];
    const log = (await rest('GET', `/v1/console/operation_logs/${String(logId)}`)).json.operation_log!;
    expect(log).to.deep.include({ scheduled_operation_id: op.id, plan_id: planId });
  });

  it('filters checkpoints by status and deletes one only after the confirmation', async () => {
    const second = await rest('POST', `/v1/console/providers/${FS_PROVIDER}/checkpoints`, { checkpoint: { plan_id: planId } });
    expect(second.status, JSON.stringify(second.json)).to.equal(202);
    const doomed = String(second.json.checkpoint!.id);
    const statusOf = async (id: string) => {
      const r = await rest('GET', `/v1/console/providers/${FS_PROVIDER}/checkpoints/${id}`);
      return r.status === 404 ? 'gone' : String(r.json.checkpoint!.status);
    };
    await page.goto(`${url}/#/checkpoints?provider=${FS_PROVIDER}&status=protecting`);
    await page.getByRole('heading', { name: 'Checkpoints' }).waitFor();
    await page.getByLabel('Status').selectOption('available');
    await page.getByRole('button', { name: 'Filter' }).click();
    const deleteButton = page.getByRole('button', { name: `Delete checkpoint ${doomed}` });
    // The new checkpoint shows under `available` once its protect is done (the filter is the API's).
    for (let i = 0; i < 120 && !(await deleteButton.isVisible()); i++) {
      await page.getByRole('button', { name: 'Filter' }).click();
      await page.waitForTimeout(500);
    }
    expect(page.url()).to.include('status=available');
    // Both checkpoints of the form and this one (and the run now's, once done): every row available.
    const statuses = await page.locator('tbody .status').allTextContents();
    expect(statuses.length).to.be.greaterThan(1);
    expect(new Set(statuses)).to.deep.equal(new Set(['available']));
    await page.locator(`tbody a[href*="${checkpointId}"]`).waitFor();
    await deleteButton.click();
    const dialog = page.getByRole('dialog', { name: 'Delete this checkpoint?' });
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect(await statusOf(doomed)).to.equal('available');
    await deleteButton.click();
    await dialog.getByRole('button', { name: 'Delete checkpoint' }).click();
    for (let i = 0; i < 120 && !['deleted', 'gone'].includes(await statusOf(doomed)); i++) await page.waitForTimeout(500);
    expect(await statusOf(doomed)).to.be.oneOf(['deleted', 'gone']);
    expect(await statusOf(checkpointId)).to.equal('available');
  });

  it("shows a member of another project none of this project's plans, and not-found for its checkpoint", async () => {
    const other = await browser.newContext({ viewport: VIEWPORTS[0] });
    try {
      const p = await other.newPage();
      await signIn(p, otherToken);
      await p.getByText('Project other (member)').waitFor();
      await p.goto(`${url}/#/plans`);
      await p.getByRole('heading', { name: 'Plans' }).waitFor();
      await p.locator('table').waitFor();
      expect(await p.locator('tbody tr').count()).to.equal(0);
      expect(await p.content()).not.to.include('console-www');
      await p.goto(`${url}/#/checkpoints/${FS_PROVIDER}/${checkpointId}`);
      await p.getByRole('heading', { name: 'Not found' }).waitFor();
      expect(await p.content()).not.to.include(data);
      await screenshot(p, 'not-found');
    } finally {
      await other.close();
    }
  });

  it('every main page at 1280x800 and 390x844: a screenshot, and no serious or critical axe violation', async () => {
    const pages: Array<[string, string, string]> = [
      ['overview', '#/', 'Overview'],
      ['plans', '#/plans', 'Plans'],
      ['plan', `#/plans/${planId}`, 'Plan console-www'],
      ['new-plan', '#/plans/new', 'New plan'],
      ['checkpoints', `#/checkpoints?provider=${FS_PROVIDER}`, 'Checkpoints'],
      ['checkpoint', `#/checkpoints/${FS_PROVIDER}/${checkpointId}`, 'Checkpoint'],
      ['restores', '#/restores', 'Restores'],
      ['verifications', '#/verifications', 'Verifications'],
      ['triggers', '#/triggers', 'Triggers'],
      ['scheduled-operations', '#/scheduled-operations', 'Scheduled operations'],
      ['operation-logs', '#/operation-logs', 'Operation logs'],
      ['providers', '#/providers', 'Providers'],
      ['provider', `#/providers/${FS_PROVIDER}`, 'Provider fs-directory'],
      ['protectables', '#/protectables', 'Protectables'],
    ];
    const found: string[] = [];
    for (const viewport of VIEWPORTS) {
      await page.setViewportSize(viewport);
      for (const [name, hash, heading] of pages) {
        await page.goto(`${url}/${hash}`);
        await page.getByRole('heading', { name: heading, exact: true }).waitFor();
        await page.locator('[aria-live="polite"]', { hasText: /^Loading/ }).waitFor({ state: 'detached' });
        await screenshot(page, name);
        const where = `${name} ${viewport.width}x${viewport.height}`;
        for (const v of await seriousViolations(page))
          found.push(`${where}: ${v.id} (${v.impact}) ${v.help} at ${JSON.stringify(v.nodes.map((n) => n.target))}`);
      }
      const signInPage = await context.newPage();
      await signInPage.setViewportSize(viewport);
      await signInPage.goto(`${url}/`);
      await signInPage.getByLabel('API token').waitFor();
      await screenshot(signInPage, 'sign-in');
      for (const v of await seriousViolations(signInPage)) found.push(`sign-in: ${v.id} (${v.impact}) ${v.help}`);
      await signInPage.close();
    }
    expect(found).to.deep.equal([]);
  });

  it('can be used with the keyboard alone: skip link, navigation and a visible focus ring', async () => {
    await page.setViewportSize(VIEWPORTS[1]);
    await page.goto(`${url}/#/`);
    await page.reload();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent')).to.equal('Skip to content');
    const ring = await page.evaluate('getComputedStyle(document.activeElement).outlineStyle');
    expect(ring).to.equal('solid');
    let reached = false;
    for (let i = 0; i < 15 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = (await page.evaluate('document.activeElement?.textContent')) === 'Triggers';
    }
    expect(reached, 'Triggers reached with Tab').to.equal(true);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Triggers' }).waitFor();
    await page.waitForFunction("document.activeElement?.id === 'main'");
  });

  it('browses protectable instances with the parameters given', async () => {
    await page.goto(`${url}/#/protectables`);
    await page.getByLabel('Type').selectOption('fs.directory');
    await page.getByLabel('Parameters (JSON)').fill(JSON.stringify({ path: work.path }));
    await page.getByRole('button', { name: 'Browse instances' }).click();
    await page.getByRole('cell', { name: data, exact: true }).first().waitFor();
  });

  it('shows a hostile plan name as text, never as markup', async () => {
    const name = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>';
    const made = await rest('POST', '/v1/console/plans', {
      plan: { name, provider_id: FS_PROVIDER, resources: [{ type: 'fs.directory', id: data }] },
    });
    expect(made.status, JSON.stringify(made.json)).to.equal(200);
    await page.goto(`${url}/#/plans`);
    await page.getByRole('link', { name }).waitFor();
    expect(await page.locator('main img, main script').count()).to.equal(0);
    expect(await page.evaluate('window.pwned')).to.equal(undefined);
  });
});
