// The dashboard in headless Debian Chromium (playwright-core) against a real gateway (development
// mode) and the real Temporal dev server. The releases' activities are MOCKED (FakeWorld): the
// page is under test here, not helm; what it shows is compared with what the releases report.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { FakeWorld } from '../helpers/fake-activities.js';
import { twoEnvSpec } from '../helpers/specs.js';
import { startRelease, waitForStatus } from '../helpers/release.js';
import { gatewayConfig, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { launchBrowser, screenshot } from '../helpers/browser.js';
import { connectClient, eventually, randomCommit, uniqueName, uniqueQueues, withWorkers, type TemporalTestContext } from '../helpers/temporal.js';

let ctx: TemporalTestContext;
let browser: Browser;
before(async () => {
  ctx = await connectClient();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await ctx?.close();
});

const SUITE = 'dashboard';
const canarySteps = [{ setWeight: 10 }, { analysis: { metrics: ['error-rate'] } }, { setWeight: 50 }, { setWeight: 100 }];

/** A page that fails the test on any console error or uncaught exception (a CSP violation is one). */
async function openPage(url: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems: string[] = [];
  page.on('console', (m) => {
    // A refused decision is a 403 answer the page shows; the browser logs it as a failed load.
    if (m.type() === 'error' && !/status of 403/.test(m.text())) problems.push(`console: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await page.goto(url);
  return { page, problems };
}

const rowsOf = (page: Page) => page.locator('table.releases tbody tr');

test('the dashboard lists, filters, draws and decides real releases', async (t) => {
  const world = new FakeWorld();
  const queues = uniqueQueues('dash');
  const svcA = uniqueName('dash-a');
  const svcB = uniqueName('dash-b');
  const specA = twoEnvSpec({ service: svcA, withBuild: false, canarySteps });
  const specB = twoEnvSpec({ service: svcB, withBuild: false, canarySteps: [{ setWeight: 50 }, { setWeight: 100 }], production: { approval: { approvers: ['alice'], timeout: '1h' } } });
  let gw: RunningGateway | undefined;
  try {
    await withWorkers(queues, world.activities(), async () => {
      gw = await startGateway(ctx.shipyard, gatewayConfig(specA));
      // One release promoted, one rolled back by its analysis (same service), one waiting for approval.
      world.metric('error-rate', [0.001, 0.002]);
      const commitTime = new Date(Date.now() - 3600_000).toISOString();
      const good = await startRelease(ctx.shipyard, queues, specA, { trigger: { kind: 'cli', by: 'carol', commitTime } });
      await waitForStatus(ctx.shipyard, good.releaseId, (s) => s.outcome === 'succeeded', 'A1 succeeded', 60_000);
      world.metric('error-rate', [0.5]);
      const bad = await startRelease(ctx.shipyard, queues, specA, { commit: randomCommit() });
      await waitForStatus(ctx.shipyard, bad.releaseId, (s) => s.outcome === 'rolled-back', 'A2 rolled back', 60_000);

      const { page, problems } = await openPage(`${gw.url}/ui/`);

      await t.test('the list shows the real releases, and a new one appears without a reload', async () => {
        await page.getByRole('table', { name: /Releases/ }).waitFor();
        await eventually(async () => (await rowsOf(page).filter({ hasText: svcA }).count()) === 2, 15_000, 'both releases of A listed');
        const badRow = rowsOf(page).filter({ has: page.locator(`a[href="#/releases/${encodeURIComponent(bad.releaseId)}"]`) });
        assert.match(await badRow.innerText(), /rolled-back/);
        const waiting = await startRelease(ctx.shipyard, queues, specB, { environments: ['production'] });
        await waitForStatus(ctx.shipyard, waiting.releaseId, (s) => s.approvals.pending !== null, 'B at its approval');
        // Live refresh (every 5 s): no navigation, the row arrives.
        await page.locator(`a[href="#/releases/${encodeURIComponent(waiting.releaseId)}"]`).waitFor({ timeout: 15_000 });
        assert.match(await page.locator('#list-status').innerText(), /refreshes every 5s/);
        await screenshot(page, SUITE, '01-releases');
      });

      await t.test('a filter narrows the list (keyboard only: tab to the labelled field, type, Enter)', async () => {
        await page.locator('body').focus();
        let reached = false;
        for (let i = 0; i < 10 && !reached; i++) {
          await page.keyboard.press('Tab');
          reached = (await page.evaluate('document.activeElement?.id')) === 'filter-service';
        }
        assert.ok(reached, 'Tab reaches the Service filter');
        assert.equal(await page.getByLabel('Service').getAttribute('id'), 'filter-service');
        await page.keyboard.type(svcB);
        await page.keyboard.press('Enter');
        await page.waitForURL(new RegExp(`service=${svcB}`));
        await eventually(async () => (await rowsOf(page).count()) === 1 && (await rowsOf(page).first().innerText()).includes(svcB), 15_000, 'only B listed');
        // Outcome filter: A's rolled-back release only.
        await page.goto(`${gw!.url}/ui/#/?service=${svcA}&outcome=rolled-back`);
        await eventually(async () => (await rowsOf(page).count()) === 1, 15_000, 'one rolled-back release of A');
        assert.match(await rowsOf(page).first().innerText(), /rolled-back/);
        assert.equal(await page.getByLabel('Outcome').inputValue(), 'rolled-back');
      });

      await t.test('a release page draws the canary weight and the measurements against the threshold', async () => {
        const status = await ctx.shipyard.status(good.releaseId);
        const weights = (status.canaryHistory ?? []).filter((c) => c.environment === 'production');
        const measured = status.metrics.filter((m) => m.environment === 'production' && m.metric === 'error-rate');
        assert.equal(measured.length, 2);
        // Keyboard: the release's link, then Enter.
        await page.goto(`${gw!.url}/ui/#/?service=${svcA}`);
        const link = page.locator(`a[href="#/releases/${encodeURIComponent(good.releaseId)}"]`);
        await link.waitFor();
        await link.focus();
        await page.keyboard.press('Enter');
        const weight = page.locator('figure[data-chart="weight-production"]');
        await weight.waitFor();
        assert.equal(await weight.getAttribute('data-points'), String(weights.length));
        assert.ok(weights.length >= 3, `weights ${JSON.stringify(weights)}`);
        assert.equal(await weight.locator('table.data tbody tr').count(), weights.length);
        assert.deepEqual(await weight.locator('table.data tbody tr td:nth-child(2)').allTextContents(), weights.map((w) => String(w.weight)));
        await weight.locator('canvas').first().waitFor();
        const metric = page.locator('figure[data-chart="metric-production-error-rate"]');
        assert.equal(await metric.getAttribute('data-points'), '2');
        assert.match((await metric.locator('[role="img"]').getAttribute('aria-label')) ?? '', /2 points; max 0\.01/);
        assert.deepEqual(await metric.locator('table.data tbody tr td:nth-child(2)').allTextContents(), ['0.001', '0.002']);
        assert.equal(await page.locator('table.stages tbody tr').count(), status.stages.length);
        assert.equal(await page.getByRole('link', { name: 'Open the workflow in the Temporal UI' }).getAttribute('href'), ctx.shipyard.url(good.releaseId));
        await screenshot(page, SUITE, '02-release-succeeded');
        // The rolled-back one: its compensation log as the release recorded it.
        const badStatus = await ctx.shipyard.status(bad.releaseId);
        await page.goto(`${gw!.url}/ui/#/releases/${encodeURIComponent(bad.releaseId)}`);
        const comp = page.locator('table.compensation tbody tr');
        await comp.first().waitFor();
        assert.equal(await comp.count(), badStatus.compensation.length);
        assert.match(await page.locator('.error-box').innerText(), /AnalysisFailed|analysis/i);
        assert.equal(await page.locator('figure[data-chart="metric-production-error-rate"]').getAttribute('data-points'), String(badStatus.metrics.filter((m) => m.metric === 'error-rate' && m.environment === 'production').length));
        await screenshot(page, SUITE, '03-release-rolled-back');
      });

      await t.test('approve from the browser: a refusal shows the reason, an approver approves, the workflow records it', async () => {
        const [waiting] = await ctx.shipyard.list({ service: svcB });
        await page.goto(`${gw!.url}/ui/#/releases/${encodeURIComponent(waiting.releaseId)}`);
        const approve = page.getByRole('button', { name: /^Approve production/ });
        await approve.waitFor();
        // Keyboard: Enter opens the confirmation, focus is inside it, Escape cancels.
        await approve.focus();
        await page.keyboard.press('Enter');
        const dialog = page.getByRole('dialog');
        await dialog.waitFor();
        assert.equal(await page.evaluate("Boolean(document.activeElement?.closest('dialog'))"), true, 'focus moved into the dialog');
        await page.keyboard.press('Escape');
        await dialog.waitFor({ state: 'detached' });
        assert.equal((await ctx.shipyard.status(waiting.releaseId)).approvals.decisions.length, 0, 'a cancelled dialog decides nothing');

        await approve.click();
        await dialog.getByLabel(/Your name/).fill('mallory');
        await dialog.getByRole('button', { name: 'Approve' }).click();
        const refusal = dialog.getByRole('alert');
        await refusal.waitFor({ state: 'visible' });
        const said = await refusal.innerText();
        assert.match(said, /^Refused: approve refused: .*mallory/);
        await screenshot(page, SUITE, '04-approval-refused');
        assert.equal((await ctx.shipyard.status(waiting.releaseId)).approvals.decisions.length, 0);

        await dialog.getByLabel(/Your name/).fill('alice');
        await dialog.getByLabel('Comment (optional)').fill('ship it');
        await dialog.getByRole('button', { name: 'Approve' }).click();
        await dialog.waitFor({ state: 'detached' });
        assert.match(await page.locator('.action-result').innerText(), /^Done — approved gate production\/approval \(1 of 1 approval, gate closed\), by alice \(unauthenticated\)\.$/);
        const decided = await waitForStatus(ctx.shipyard, waiting.releaseId, (s) => s.approvals.decisions.length === 1, 'the decision recorded');
        const [d] = decided.approvals.decisions;
        assert.equal(d.approver, 'alice');
        assert.equal(d.decision, 'approved');
        assert.equal(d.comment, 'ship it');
        assert.equal(d.authenticated, false);
        await waitForStatus(ctx.shipyard, waiting.releaseId, (s) => s.outcome === 'succeeded', 'B succeeded', 60_000);
        // The page follows the running release to its end.
        await page.locator('h1 .badge-succeeded').waitFor({ timeout: 15_000 });
        assert.match(await page.locator('table.decisions').innerText(), /alice[\s\S]*ship it/);
        await screenshot(page, SUITE, '05-approved');
      });

      await t.test('services: DORA per environment from the release records, the same numbers on /metrics', async () => {
        await page.goto(`${gw!.url}/ui/#/services/${svcA}`);
        const row = page.locator('table.dora tbody tr').filter({ hasText: 'production' });
        await row.waitFor();
        const cells = await row.locator('td').allInnerTexts();
        // One promoted (lead time: its commit an hour before), one rolled back in production: 1 of 2 changes failed, not yet restored.
        assert.equal(cells[2], '1');
        assert.match(cells[4], /^1h 0m \/ 1h 0m$/);
        assert.equal(cells[5], '50% (1 of 2)');
        assert.match(cells[6], /failing since/);
        await screenshot(page, SUITE, '06-service-dora');
        const metrics = await (await fetch(`${gw!.url}/metrics`)).text();
        assert.match(metrics, new RegExp(`shipyard_dora_deployments\\{service="${svcA}",environment="production"\\} 1\n`));
        assert.match(metrics, new RegExp(`shipyard_dora_change_failure_ratio\\{service="${svcA}",environment="production"\\} 0.5\n`));
        assert.match(metrics, /shipyard_dora_up 1/);
      });

      await page.close();
      assert.deepEqual(problems, [], 'no console errors or page errors (CSP violations included)');
    });
  } finally {
    await gw?.close();
  }
});

test('the gateway serves the dashboard under a strict CSP; the read API refuses what it cannot use', async () => {
  const spec = twoEnvSpec({ service: uniqueName('dash-h'), withBuild: false });
  const gw = await startGateway(ctx.shipyard, gatewayConfig(spec));
  try {
    const index = await fetch(`${gw.url}/ui/`);
    assert.equal(index.status, 200);
    const csp = index.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    const html = await index.text();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
    assert.doesNotMatch(html, /https?:\/\//, 'nothing from another origin');
    const redirect = await fetch(`${gw.url}/ui`, { redirect: 'manual' });
    assert.equal(redirect.status, 302);
    const missing = await fetch(`${gw.url}/api/releases/${encodeURIComponent('no/such/release')}`);
    assert.equal(missing.status, 404);
    const bad = await fetch(`${gw.url}/api/releases?service=${encodeURIComponent("x' OR 1=1")}`);
    assert.equal(bad.status, 400);
    const badDora = await fetch(`${gw.url}/api/dora?service=${encodeURIComponent("x' OR 1=1")}`);
    assert.equal(badDora.status, 400);
    assert.match(((await badDora.json()) as { detail: string }).detail, /has characters a filter cannot hold/);
    const session = await (await fetch(`${gw.url}/api/session`)).json();
    assert.deepEqual(session, { mode: 'development', tokens: false });
  } finally {
    await gw.close();
  }
});
