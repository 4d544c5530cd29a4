// The deploy worker's egress policy against a real HTTP listener: what the worker's configuration
// does not allow is refused before anything is sent (the listener sees nothing), and a spec cannot
// make the worker read a variable outside the configured secret prefixes.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { checkEgress, hostAllowed } from '../../activities/egress.js';
import { updateJira } from '../../activities/jira.js';
import { postJson, secretFromEnv } from '../../activities/notify/http.js';
import { buildSettingsFromEnv } from '../../activities/build/settings.js';
import { startEndpoint, webhookOk, type Endpoint } from '../helpers/fake-endpoints.js';

let hook: Endpoint;
const KEYS = ['SHIPYARD_EGRESS_ALLOW', 'SHIPYARD_SECRET_ENV_PREFIXES', 'SHIPYARD_MODE'];
before(async () => {
  hook = await startEndpoint(webhookOk);
});
after(async () => {
  await hook.close();
});
afterEach(() => {
  for (const k of KEYS) delete process.env[k];
  hook.received.length = 0;
});

async function refusal(fn: () => Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${err}`);
    return err;
  }
  assert.fail('not refused');
}

describe('egress allowlist and secret names (real HTTP listener)', () => {
  test('hosts: exact, *.domain, :port; nothing is sent to a host not allowed', async () => {
    assert.ok(hostAllowed('hooks.slack.com', 'HOOKS.slack.com', '443'));
    assert.ok(hostAllowed('*.atlassian.net', 'acme.atlassian.net', '443'));
    assert.ok(!hostAllowed('*.atlassian.net', 'atlassian.net.evil.com', '443'));
    assert.ok(!hostAllowed('*.atlassian.net', 'evilatlassian.net', '443'));
    assert.ok(!hostAllowed('127.0.0.1:8099', '127.0.0.1', '8100'));
    const port = new URL(hook.url).port;

    process.env.SHIPYARD_EGRESS_ALLOW = 'hooks.example.com, *.atlassian.net';
    const denied = await refusal(() => postJson('webhook', `${hook.url}/x?token=s3cret`, { a: 1 }));
    assert.equal(denied.type, 'EgressDenied');
    assert.equal(denied.nonRetryable, true);
    assert.match(denied.message, /^webhook: host 127\.0\.0\.1:\d+ is not in SHIPYARD_EGRESS_ALLOW$/);
    assert.doesNotMatch(denied.message, /s3cret/, 'the URL (a secret itself) is not echoed');
    process.env.SHIPYARD_EGRESS_ALLOW = `127.0.0.1:${Number(port) + 1}`;
    assert.equal((await refusal(() => postJson('webhook', `${hook.url}/x`, { a: 1 }))).type, 'EgressDenied', 'another port of the host');
    assert.equal(hook.received.length, 0, 'nothing reached the listener');

    process.env.SHIPYARD_EGRESS_ALLOW = `127.0.0.1:${port}`;
    await postJson('webhook', `${hook.url}/x`, { a: 1 });
    assert.equal(hook.received.length, 1);
    // Development (default) with nothing configured: allowed; production: nothing without the list.
    delete process.env.SHIPYARD_EGRESS_ALLOW;
    checkEgress(`${hook.url}/x`, 'webhook');
    process.env.SHIPYARD_MODE = 'production';
    assert.match((await refusal(async () => checkEgress(`${hook.url}/x`, 'webhook'))).message, /SHIPYARD_EGRESS_ALLOW is not set/);
  });

  test('a spec names only variables with the configured prefixes; JIRA is checked before any request', async () => {
    process.env.T_EGRESS_URL = `${hook.url}/hook`;
    process.env.SHIPYARD_SECRET_EGRESS_URL = `${hook.url}/hook`;
    process.env.SHIPYARD_SECRET_ENV_PREFIXES = 'SHIPYARD_SECRET_';
    const denied = await refusal(async () => secretFromEnv('T_EGRESS_URL', 'notification webhook URL'));
    assert.equal(denied.type, 'SecretNameDenied');
    assert.match(denied.message, /variable T_EGRESS_URL does not start with SHIPYARD_SECRET_/);
    assert.equal(secretFromEnv('SHIPYARD_SECRET_EGRESS_URL', 'notification webhook URL'), `${hook.url}/hook`);

    process.env.SHIPYARD_EGRESS_ALLOW = 'jira.example.com';
    process.env.SHIPYARD_SECRET_JIRA = 'user@example.com:token';
    const jira = { baseUrl: hook.url, credentialsEnv: 'SHIPYARD_SECRET_JIRA', transition: 'Done', projects: [] } as never;
    const input = { releaseId: 'release/x/all/abc', service: 'x', version: 'v1', commit: 'a'.repeat(40), outcome: 'succeeded', jira, issues: ['ABC-1'] } as never;
    assert.equal((await refusal(() => updateJira(input, buildSettingsFromEnv()))).type, 'EgressDenied');
    process.env.SHIPYARD_EGRESS_ALLOW = '127.0.0.1';
    process.env.SHIPYARD_SECRET_ENV_PREFIXES = 'OTHER_';
    assert.equal((await refusal(() => updateJira(input, buildSettingsFromEnv()))).type, 'SecretNameDenied');
    assert.equal(hook.received.length, 0, 'no request carried the credentials anywhere');
  });
});
