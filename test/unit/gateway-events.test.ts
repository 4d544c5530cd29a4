// The webhook normalizers' commitTime (DORA lead time): from each provider's payload, as ISO 8601
// UTC; dropped (never refused) when absent or not a date. Also --commit-time's validation.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { normalizeGeneric, normalizeGithub, normalizeGitlab, type GitEvent } from '../../client/gateway/events.js';
import { commitTimeIn, commitTimeOf } from '../../client/commit-time.js';

const sha = 'b'.repeat(40);
const other = 'c'.repeat(40);
const eventOf = (n: ReturnType<typeof normalizeGithub>): GitEvent => {
  assert.ok('event' in n, JSON.stringify(n));
  return n.event;
};

describe('commitTime from webhook payloads', () => {
  test('GitHub push: head_commit.timestamp, offset converted to UTC', () => {
    const body = { ref: 'refs/heads/main', after: sha, repository: { full_name: 'acme/app' }, sender: { login: 'al' }, head_commit: { id: sha, timestamp: '2026-03-01T10:15:30+02:00' } };
    assert.equal(eventOf(normalizeGithub('push', 'd1', body)).commitTime, '2026-03-01T08:15:30.000Z');
  });

  test('GitHub tag push carries head_commit too', () => {
    const body = { ref: 'refs/tags/v1.0.0', after: sha, repository: { full_name: 'acme/app' }, head_commit: { id: sha, timestamp: '2026-03-02T00:00:00Z' } };
    const e = eventOf(normalizeGithub('push', 'd2', body));
    assert.equal(e.kind, 'tag');
    assert.equal(e.commitTime, '2026-03-02T00:00:00.000Z');
  });

  test('GitHub: no head_commit, a null one or a timestamp that is not a date: no commitTime, the event still goes', () => {
    const base = { ref: 'refs/heads/main', after: sha, repository: { full_name: 'acme/app' } };
    for (const head_commit of [undefined, null, { id: sha, timestamp: 'yesterday-ish' }, { id: sha, timestamp: 12345 }, { id: sha, timestamp: '1900-01-01T00:00:00Z' }]) {
      const e = eventOf(normalizeGithub('push', 'd3', { ...base, head_commit }));
      assert.equal(e.commit, sha);
      assert.equal('commitTime' in e, false, JSON.stringify(head_commit));
    }
  });

  test('GitLab push: the commit of commits[] that is checkout_sha', () => {
    const body = {
      ref: 'refs/heads/main',
      checkout_sha: sha,
      after: sha,
      project: { path_with_namespace: 'grp/app' },
      user_username: 'bo',
      commits: [
        { id: other, timestamp: '2026-03-01T09:00:00+00:00' },
        { id: sha, timestamp: '2026-03-01T11:00:00+01:00' },
      ],
    };
    assert.equal(eventOf(normalizeGitlab('Push Hook', 'g1', body)).commitTime, '2026-03-01T10:00:00.000Z');
    // The head is not among commits[] (a push of more than 20 commits lists the first ones only): unknown.
    const e = eventOf(normalizeGitlab('Push Hook', 'g2', { ...body, commits: [{ id: other, timestamp: '2026-03-01T09:00:00Z' }] }));
    assert.equal(e.commitTime, undefined);
    // A tag push without commits[]: unknown, still an event.
    assert.equal(eventOf(normalizeGitlab('Tag Push Hook', 'g3', { ...body, ref: 'refs/tags/v1', commits: undefined })).commitTime, undefined);
  });

  test('generic: an optional commitTime field, validated as a date', () => {
    const body = { event: 'push', repo: 'acme/app', ref: 'refs/heads/main', commit: sha };
    assert.equal(eventOf(normalizeGeneric('x1', { ...body, commitTime: '2026-03-01T12:00:00.5Z' })).commitTime, '2026-03-01T12:00:00.500Z');
    assert.equal('commitTime' in eventOf(normalizeGeneric('x2', body)), false);
    assert.equal('commitTime' in eventOf(normalizeGeneric('x3', { ...body, commitTime: 'not a date' })), false);
    assert.equal('commitTime' in eventOf(normalizeGeneric('x4', { ...body, commitTime: { $gt: '' } })), false);
  });
});

describe('commit-time.ts', () => {
  test('commitTimeOf: dates to UTC ISO; anything else undefined', () => {
    assert.equal(commitTimeOf('2026-01-31T12:00:00-05:00'), '2026-01-31T17:00:00.000Z');
    assert.equal(commitTimeOf(''), undefined);
    assert.equal(commitTimeOf('x'.repeat(100)), undefined);
    assert.equal(commitTimeOf('+275760-09-13T00:00:00Z'), undefined);
  });

  test('commitTimeIn: the committer date from a checkout that has the commit; undefined otherwise', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'commit-time-'));
    try {
      const env = { ...process.env, GIT_COMMITTER_DATE: '2026-02-03T04:05:06+07:00', GIT_AUTHOR_DATE: '2026-01-01T00:00:00Z' };
      execFileSync('git', ['init', '-q', dir]);
      execFileSync('git', ['-C', dir, '-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-q', '--allow-empty', '-m', 'x'], { env });
      const head = execFileSync('git', ['-C', dir, 'rev-parse', 'HEAD']).toString().trim();
      assert.equal(await commitTimeIn([dir], head), '2026-02-02T21:05:06.000Z');
      assert.equal(await commitTimeIn([join(dir, 'missing'), dir], head), '2026-02-02T21:05:06.000Z', 'the next directory when the first cannot say');
      assert.equal(await commitTimeIn([dir], 'd'.repeat(40)), undefined, 'a commit the checkout does not have');
      assert.equal(await commitTimeIn([dir], 'HEAD'), undefined, 'only full hashes');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
