// Release versions and their OCI image tags: the mapping of + / :, and the versions that have no tag.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { imageTagFor, OCI_TAG, validateVersion } from '../../spec/version.js';

describe('imageTagFor', () => {
  test('tags that are already valid stay as they are', () => {
    for (const v of ['v1.2.3', '1.2.3-rc.1', 'abcdef123456', '_build', '2024.06.01_7', 'A'.repeat(128)]) {
      assert.equal(imageTagFor(v), v);
    }
  });

  test("'+' becomes '_' (build metadata, as Helm does), '/' and ':' become '-'", () => {
    assert.equal(imageTagFor('v1.2.3+build.7'), 'v1.2.3_build.7');
    assert.equal(imageTagFor('1.0.0-rc.1+sha.5114f85'), '1.0.0-rc.1_sha.5114f85');
    assert.equal(imageTagFor('release/2024.06'), 'release-2024.06');
    assert.equal(imageTagFor('build:42'), 'build-42');
    assert.equal(imageTagFor('feature/a:b+c'), 'feature-a-b_c');
    assert.equal(imageTagFor('+meta'), '_meta', "a leading '+' maps to a leading '_', which a tag may start with");
  });

  test('every tag it returns is a valid OCI tag', () => {
    for (const v of ['v1', 'x/y', 'a:b', '1+2', '_', `v${'9'.repeat(127)}`]) assert.match(imageTagFor(v), OCI_TAG);
  });

  test('versions with no tag throw an Error that says why', () => {
    assert.throws(() => imageTagFor(''), /non-empty/);
    assert.throws(() => imageTagFor('v'.repeat(129)), /129 characters; an image tag holds at most 128/);
    assert.throws(() => imageTagFor('v1.2 beta'), /has ' ', which an image tag cannot hold/);
    assert.throws(() => imageTagFor('v1#2'), /has '#'/);
    assert.throws(() => imageTagFor('vé'), /has 'é'/);
    assert.throws(() => imageTagFor('.hidden'), /must start with a letter, digit or _ \(an image tag cannot start with '\.'\)/);
    assert.throws(() => imageTagFor('-rc1'), /cannot start with '-'/);
    assert.throws(() => imageTagFor('/main'), /cannot start with '\/'/);
    assert.throws(() => imageTagFor(':x'), /cannot start with ':'/);
  });
});

describe('validateVersion', () => {
  test('accepts what has a tag, refuses what has not, and non-strings', () => {
    assert.doesNotThrow(() => validateVersion('v1.2.3+build.7'));
    assert.doesNotThrow(() => validateVersion('release/2024.06'));
    assert.throws(() => validateVersion('v1 2'), /which an image tag cannot hold/);
    assert.throws(() => validateVersion(undefined), /non-empty string/);
    assert.throws(() => validateVersion(123), /non-empty string/);
  });
});
