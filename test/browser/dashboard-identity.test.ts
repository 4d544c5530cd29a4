// The dashboard against a production-mode gateway: a real Dex issues the ID tokens, the gateway
// verifies them on every read and signs each decision, and the release's validator checks the
// statement (signed decisions required). Activities are MOCKED (FakeWorld); the browser is
// headless Debian Chromium.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { FakeWorld } from '../helpers/fake-activities.js';
import { twoEnvSpec } from '../helpers/specs.js';
import { startRelease, waitForStatus } from '../helpers/release.js';
import { launchBrowser, screenshot } from '../helpers/browser.js';
import { startProductionGateway, type ProductionGateway } from '../helpers/production-gateway.js';
import { uniqueName, uniqueQueues, withWorkers } from '../helpers/temporal.js';
import { ROLES } from '../../workers/worker.js';

const queues = uniqueQueues('dash-id');
const service = uniqueName('dash-id');
const spec = twoEnvSpec({ service, withBuild: false, canarySteps: [{ setWeight: 100 }], production: { approval: { approvers: ['group:sre'], timeout: '1h' } } });
let stack: ProductionGateway;
let browser: Browser;
before(async () => {
  stack = await startProductionGateway(queues, spec);
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await stack?.close();
});

test('production: reads need a verified token; a non-approver is refused; a group approver approves, recorded as verified', async () => {
  const { shipyard, gw, dex, trust } = stack;
  const world = new FakeWorld();
  await withWorkers(
    queues,
    world.activities(),
    async () => {
      const r = await startRelease(shipyard, queues, spec, { environments: ['production'] });
      await waitForStatus(shipyard, r.releaseId, (s) => s.approvals.pending !== null, 'at its approval');

      // The API itself: no token, no data.
      const anonymous = await fetch(`${gw.url}/api/releases?service=${service}`);
      assert.equal(anonymous.status, 401);
      assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Bearer error="invalid_token"/);
      assert.deepEqual(await (await fetch(`${gw.url}/api/session`)).json(), { mode: 'production', tokens: true });

      const page = await browser.newPage();
      const url = `${gw.url}/ui/#/releases/${encodeURIComponent(r.releaseId)}`;
      await page.goto(url);
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      // A token the gateway refuses is said so, and forgotten.
      await page.getByLabel('ID token').fill('not.a.token');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('alert').filter({ hasText: 'Token refused' }).waitFor();

      // bob is a developer, not in sre: signed in, reads, but his approval is refused by the release.
      await page.getByLabel('ID token').fill(await dex.token('bob'));
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByText(/^Signed in as bob@example\.com/).waitFor();
      const approve = page.getByRole('button', { name: /^Approve production/ });
      await approve.waitFor();
      await approve.click();
      const dialog = page.getByRole('dialog');
      assert.equal(await dialog.getByLabel(/Your name/).count(), 0, 'no name field: the token says who');
      await dialog.getByRole('button', { name: 'Approve' }).click();
      const refusal = dialog.getByRole('alert');
      await refusal.waitFor({ state: 'visible' });
      assert.match(await refusal.innerText(), /^Refused: approve refused: .*bob@example\.com/);
      await screenshot(page, 'dashboard-identity', '01-refused');
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      assert.equal((await shipyard.status(r.releaseId)).approvals.decisions.length, 0);

      // alice (group sre) signs in instead and approves.
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByLabel('ID token').fill(await dex.token('alice'));
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByText(/^Signed in as alice@example\.com \(sre, developers\)/).waitFor();
      await approve.click();
      await dialog.getByLabel('Comment (optional)').fill('verified in the browser');
      await dialog.getByRole('button', { name: 'Approve' }).click();
      await dialog.waitFor({ state: 'detached' });
      const decided = await waitForStatus(shipyard, r.releaseId, (s) => s.approvals.decisions.length === 1, 'the decision recorded');
      const [d] = decided.approvals.decisions;
      assert.equal(d.approver, 'alice@example.com');
      assert.equal(d.authenticated, true, 'a statement the gateway signed vouched for alice');
      assert.equal(d.via, 'api');
      assert.deepEqual(d.groups, ['sre', 'developers']);
      assert.equal(d.comment, 'verified in the browser');
      await waitForStatus(shipyard, r.releaseId, (s) => s.outcome === 'succeeded', 'succeeded', 60_000);
      await page.locator('table.decisions').filter({ hasText: 'verified in the browser' }).waitFor({ timeout: 15_000 });
      assert.match(await page.locator('table.decisions').innerText(), /alice@example\.com[\s\S]*verified/);
      await screenshot(page, 'dashboard-identity', '02-approved');
      await page.close();
    },
    ROLES,
    { trust: () => trust },
  );
});
