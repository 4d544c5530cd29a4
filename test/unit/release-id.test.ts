// Release identity: one commit and one environment selection give one release ID, however spelled.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { environmentKey, isFullCommit, releaseIdFor, selectEnvironments } from '../../client/release-id.js';
import { resolveCommit } from '../../client/commit.js';

const SPEC = ['staging', 'production'];
const SHA = '0123456789abcdef0123456789abcdef01234567';

describe('environment selection', () => {
  test('no -e, every environment in any order, and repeats all spell `all`', () => {
    const ids = [undefined, [], ['staging', 'production'], ['production', 'staging'], ['production', 'staging', 'production']].map((e) =>
      releaseIdFor('pay', SPEC, e, SHA),
    );
    assert.deepEqual(new Set(ids), new Set([`release/pay/all/${SHA}`]));
  });

  test('a subset is in spec order and deduplicated', () => {
    const three = ['dev', 'staging', 'production'];
    assert.deepEqual(selectEnvironments(three, ['production', 'dev', 'production']), { environments: ['dev', 'production'], all: false });
    assert.equal(releaseIdFor('pay', three, ['production', 'dev'], SHA), `release/pay/dev+production/${SHA}`);
    assert.equal(releaseIdFor('pay', three, ['dev', 'production', 'dev'], SHA), `release/pay/dev+production/${SHA}`);
    assert.equal(releaseIdFor('pay', three, ['staging'], SHA), `release/pay/staging/${SHA}`);
    assert.equal(environmentKey(selectEnvironments(three, ['production', 'staging', 'dev'])), 'all');
  });

  test('a one-environment spec: naming it is `all`', () => {
    assert.equal(releaseIdFor('pay', ['production'], ['production'], SHA), `release/pay/all/${SHA}`);
  });

  test('unknown environments are a usage error naming them once', () => {
    assert.throws(() => selectEnvironments(SPEC, ['qa', 'staging', 'qa']), (err: Error) => {
      assert.equal(err.name, 'ShipyardUsageError');
      assert.equal(err.message, 'unknown environment(s) qa; the spec has staging, production');
      return true;
    });
  });
});

describe('commit spelling', () => {
  test('only a full hash names a release', () => {
    assert.equal(isFullCommit(SHA), true);
    assert.equal(isFullCommit('a'.repeat(64)), true, 'SHA-256 repositories');
    assert.equal(isFullCommit(SHA.slice(0, 12)), false);
    assert.equal(isFullCommit(SHA.toUpperCase()), false);
    assert.equal(isFullCommit('a'.repeat(41)), false);
    assert.throws(() => releaseIdFor('pay', SPEC, [], SHA.slice(0, 12)), /must be resolved to its full hash/);
  });

  test('a full hash resolves without git (none on PATH); a short one needs it', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      assert.equal(await resolveCommit(SHA.toUpperCase(), { repo: 'https://git.invalid/none.git', checkout: '/nonexistent' }), SHA);
      await assert.rejects(resolveCommit(SHA.slice(0, 10), { repo: 'https://git.invalid/none.git' }), /git is not installed/);
    } finally {
      process.env.PATH = path;
    }
  });

  test('a malformed commit is refused before any git', async () => {
    await assert.rejects(resolveCommit('HEAD', { repo: '/nonexistent' }), /commit 'head' is not a git commit hash/);
    await assert.rejects(resolveCommit('abc12', { repo: '/nonexistent' }), /not a git commit hash \(7 to 64/);
  });
});
