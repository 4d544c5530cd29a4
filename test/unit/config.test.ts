// Temporal connection settings from the environment, and the CLI's exit-code contract.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { temporalSettings, releaseUrl, ConfigError } from '../../config/temporal.js';
import { EXIT, exitCodeForOutcome } from '../../client/exit-codes.js';
import { releaseId } from '../../client/release-id.js';

describe('temporal settings', () => {
  test('defaults to the embedded dev server', () => {
    const s = temporalSettings({});
    assert.equal(s.address, '127.0.0.1:7233');
    assert.equal(s.namespace, 'default');
    assert.equal(s.tls, undefined);
  });
  test('an existing cluster with mTLS', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tls-'));
    for (const f of ['c.pem', 'k.pem', 'ca.pem']) writeFileSync(join(dir, f), f);
    const s = temporalSettings({
      TEMPORAL_ADDRESS: 'temporal.prod:7233',
      TEMPORAL_NAMESPACE: 'releases',
      TEMPORAL_TLS_CERT: join(dir, 'c.pem'),
      TEMPORAL_TLS_KEY: join(dir, 'k.pem'),
      TEMPORAL_TLS_CA: join(dir, 'ca.pem'),
    });
    assert.equal(s.address, 'temporal.prod:7233');
    assert.equal(s.namespace, 'releases');
    assert.equal(s.tls?.clientCertPair?.crt.toString(), 'c.pem');
    assert.equal(s.tls?.serverRootCACertificate?.toString(), 'ca.pem');
  });
  test('an API key turns TLS on', () => {
    const s = temporalSettings({ TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_API_KEY: 'k' });
    assert.equal(s.apiKey, 'k');
    assert.ok(s.tls);
  });
  test('bad settings are ConfigErrors that name the variable', () => {
    assert.throws(() => temporalSettings({ TEMPORAL_TLS_CERT: '/x' }), (e: unknown) => e instanceof ConfigError && /go together/.test(e.message));
    assert.throws(() => temporalSettings({ TEMPORAL_TLS_CA: '/nonexistent.pem' }), /TEMPORAL_TLS_CA=\/nonexistent.pem: cannot read \(ENOENT\)/);
    assert.throws(() => temporalSettings({ TEMPORAL_ADDRESS: 'http://x:7233' }), /not host:port/);
  });
  test('UI links encode the release ID', () => {
    assert.equal(
      releaseUrl({ uiUrl: 'http://localhost:8233', namespace: 'default' }, 'release/a/all/abc1234'),
      'http://localhost:8233/namespaces/default/workflows/release%2Fa%2Fall%2Fabc1234',
    );
  });
});

describe('release identity and exit codes', () => {
  test('release IDs', () => {
    assert.equal(releaseId('pay', [], 'abcdef1'), 'release/pay/all/abcdef1');
    assert.equal(releaseId('pay', ['staging', 'production'], 'abcdef1'), 'release/pay/staging+production/abcdef1');
    assert.throws(() => releaseId('pay', [], 'HEAD'), /not a git commit hash/);
    assert.throws(() => releaseId('pay', [], 'abc'), /not a git commit hash/);
  });
  test('every outcome has its own exit code', () => {
    const codes = ['succeeded', 'failed', 'rolled-back', 'rejected', 'aborted', 'canceled'].map(exitCodeForOutcome);
    assert.deepEqual(codes, [EXIT.succeeded, EXIT.failed, EXIT.rolledBack, EXIT.rejected, EXIT.aborted, EXIT.ended]);
    assert.equal(new Set([...codes, EXIT.usage, EXIT.error, EXIT.notFound, EXIT.refused]).size, 10);
  });
});
