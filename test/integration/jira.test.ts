// JIRA through a release: a real HTTP listener answers as the JIRA REST API does (including its
// error bodies and a 429 with Retry-After; a MOCK of JIRA, none can run here); the issue keys come
// from a real git repository's commit messages, scanned by the build worker's scanJiraIssues.
// Deploy activities are MOCKED; the updateJira activity and Temporal's retries are real.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { updateJira, issueKeys } from '../../activities/jira.js';
import { createBuildActivities } from '../../activities/build/index.js';
import type { JiraInput } from '../../activities/types.js';
import { FakeWorld } from '../helpers/fake-activities.js';
import { json, startEndpoint, type Endpoint, type Received } from '../helpers/fake-endpoints.js';
import { createRepo, type TestRepo } from '../helpers/git.js';
import { startRelease } from '../helpers/release.js';
import { twoEnvSpec } from '../helpers/specs.js';
import { connectClient, eventually, uniqueName, uniqueQueues, withWorkers, type TemporalTestContext } from '../helpers/temporal.js';
import { parseSpec } from '../../spec/load.js';
import { stringify } from 'yaml';

let ctx: TemporalTestContext;
let jira: Endpoint;
let repo: TestRepo;
let commit: string;
/** The fake JIRA's state: comments and status per issue. */
const issues = new Map<string, { comments: { body: string }[]; status: string }>();
let rateLimitNextComment = false;

function jiraHandler(r: Received, res: import('node:http').ServerResponse) {
  if (r.headers.authorization !== `Basic ${Buffer.from('ci@example.com:api-token').toString('base64')}`) {
    return json(res, 401, { errorMessages: ['You are not authenticated. Authentication required to perform this operation.'], errors: {} });
  }
  const m = /^\/rest\/api\/2\/issue\/([A-Z]+-\d+)(\/comment|\/transitions)?/.exec(r.path);
  if (!m) return json(res, 404, { errorMessages: ['not found'] });
  const issue = issues.get(m[1]);
  if (!issue) return json(res, 404, { errorMessages: ['Issue does not exist or you do not have permission to see it.'], errors: {} });
  if (m[2] === '/comment' && r.method === 'GET') return json(res, 200, { startAt: 0, maxResults: 100, total: issue.comments.length, comments: issue.comments });
  if (m[2] === '/comment' && r.method === 'POST') {
    if (rateLimitNextComment) {
      rateLimitNextComment = false;
      return json(res, 429, { errorMessages: ['Rate limit exceeded.'] }, { 'retry-after': '2' });
    }
    issue.comments.push({ body: r.body.body });
    return json(res, 201, { id: String(issue.comments.length), body: r.body.body });
  }
  if (m[2] === '/transitions' && r.method === 'GET') return json(res, 200, { transitions: [{ id: '31', name: 'Done', to: { name: 'Done' } }, { id: '21', name: 'In Progress', to: { name: 'In Progress' } }] });
  if (m[2] === '/transitions' && r.method === 'POST') {
    issue.status = r.body.transition.id === '31' ? 'Done' : 'In Progress';
    res.writeHead(204).end();
    return;
  }
  return json(res, 200, { key: m[1], fields: { status: { name: issue.status } } });
}

before(async () => {
  ctx = await connectClient();
  jira = await startEndpoint(jiraHandler);
  repo = await createRepo(null);
  commit = await repo.commit('PAY-123 fix totals; also closes PAY-124', { 'README.md': 'hello\n' });
  process.env.T_JIRA_CREDS = 'ci@example.com:api-token';
  process.env.T_JIRA_BAD = 'ci@example.com:wrong';
});
after(async () => {
  await jira.close();
  await ctx.close();
});

function settings() {
  const dir = mkdtempSync(join(tmpdir(), 'jira-'));
  return { workDir: join(dir, 'work'), artifactDir: join(dir, 'a'), insecureRegistries: [] };
}

function jiraSpec(service: string) {
  const base = twoEnvSpec({ service, withBuild: false, notify: [] });
  return parseSpec(stringify({ ...base, source: { repo: repo.url }, environments: [base.environments[0]], jira: { baseUrl: jira.url, transition: 'Done', credentialsEnv: 'T_JIRA_CREDS' } }));
}

describe('JIRA (real HTTP peer playing JIRA, real git)', () => {
  test('issue keys from commit messages', () => {
    assert.deepEqual(issueKeys(['PAY-123 fix totals; also closes PAY-124', 'Merge branch feature/OPS-9-x', 'no keys, lower-case pay-1, ISO-8601 dates']), ['PAY-123', 'PAY-124', 'OPS-9', 'ISO-8601']);
  });

  test('a succeeded release comments and transitions; a 429 with Retry-After 2 is retried no sooner than 2s; no duplicate comment', async () => {
    issues.set('PAY-123', { comments: [], status: 'In Review' });
    issues.set('PAY-124', { comments: [], status: 'Done' });
    rateLimitNextComment = true;
    jira.received.length = 0;
    const world = new FakeWorld();
    const { createIntegrationActivities } = await import('../../activities/index.js');
    const integration = createIntegrationActivities(undefined, settings());
    const queues = uniqueQueues();
    // The real scan on the build worker (when the workflow asks it) and the real updateJira.
    const build = { ...world.build(), scanJiraIssues: createBuildActivities(settings()).scanJiraIssues };
    await withWorkers(queues, { build, deploy: { ...world.deploy(), updateJira: integration.updateJira } }, async () => {
      const { releaseId } = await startRelease(ctx.shipyard, queues, jiraSpec(uniqueName('jira')), { commit, version: 'v5.0.0' });
      const final = await ctx.shipyard.wait(releaseId, undefined, 200);
      assert.equal(final.outcome, 'succeeded');
      assert.ok(final.status!.notifications.some((n) => n.channel === 'jira' && n.status === 'sent'), JSON.stringify(final.status!.notifications));
      const posts = jira.received.filter((r) => r.method === 'POST' && r.path.endsWith('/comment'));
      const limited = posts[0];
      const retried = posts.find((p, i) => i > 0 && p.path === limited.path)!;
      assert.ok(retried.at - limited.at >= 2000, `retried after ${retried.at - limited.at}ms`);
      for (const key of ['PAY-123', 'PAY-124']) {
        const comments = issues.get(key)!.comments;
        assert.equal(comments.length, 1, `${key} has exactly one comment`);
        // The marker names the attempt when the workflow passes one (releases of older code: none).
        assert.match(comments[0].body, new RegExp(`Release v5.0.0 of .*: succeeded\\. Commit ${commit.slice(0, 12)}\\. \\[shipyard:${releaseId.replace(/[/+]/g, '\\$&')}(:[^:\\]]+)?:succeeded\\]`));
      }
      assert.equal(issues.get('PAY-123')!.status, 'Done');
      assert.equal(jira.received.filter((r) => r.method === 'POST' && r.path === '/rest/api/2/issue/PAY-124/transitions').length, 0, 'already Done: not transitioned again');
    });
  });

  test('running the activity again (a retry) adds no second comment', async () => {
    issues.set('PAY-123', { comments: [], status: 'Done' });
    issues.set('PAY-124', { comments: [], status: 'Done' });
    const input: JiraInput = { releaseId: 'release/x/all/abc1234', service: 'x', version: 'v1', commit, repo: repo.url, outcome: 'failed', jira: { baseUrl: jira.url, issueFromCommit: true, credentialsEnv: 'T_JIRA_CREDS' } };
    const env = new MockActivityEnvironment();
    await env.run(updateJira, input, settings());
    await env.run(updateJira, input, settings());
    assert.equal(issues.get('PAY-123')!.comments.length, 1);
  });

  test('401: a non-retryable failure carrying the API message', async () => {
    issues.set('PAY-123', { comments: [], status: 'Done' });
    const input: JiraInput = { releaseId: 'release/x/all/abc1234', service: 'x', version: 'v1', commit, repo: repo.url, outcome: 'succeeded', jira: { baseUrl: jira.url, issueFromCommit: true, credentialsEnv: 'T_JIRA_BAD' } };
    await assert.rejects(new MockActivityEnvironment().run(updateJira, input, settings()), (err: { type?: string; nonRetryable?: boolean; message: string }) => {
      assert.equal(err.type, 'JiraRefused');
      assert.equal(err.nonRetryable, true);
      assert.match(err.message, /401 You are not authenticated/);
      return true;
    });
    const missing = { ...input, jira: { ...input.jira, credentialsEnv: 'T_JIRA_UNSET' } };
    await assert.rejects(new MockActivityEnvironment().run(updateJira, missing, settings()), /T_JIRA_UNSET is not set on the deploy worker/);
  });

  test('scanJiraIssues (build worker): the keys of the commits since the last successful release, read from real git and visibility', async () => {
    const source = await createRepo(null);
    const released = await source.commit('OLD-1 shipped last time', { 'a.txt': '1\n' });
    const service = uniqueName('scan');
    // A succeeded release of this service at `released`, through the workflow (deploy MOCKED).
    const queues = uniqueQueues();
    const world = new FakeWorld();
    await withWorkers(queues, { build: world.build(), deploy: world.deploy() }, async () => {
      const base = twoEnvSpec({ service, withBuild: false, notify: [] });
      const spec = parseSpec(stringify({ ...base, source: { repo: source.url }, environments: [base.environments[0]] }));
      const { releaseId } = await startRelease(ctx.shipyard, queues, spec, { commit: released, version: 'v1.0.0' });
      assert.equal((await ctx.shipyard.wait(releaseId, undefined, 200)).outcome, 'succeeded');
    });
    await source.commit('OPS-7 first change', { 'a.txt': '2\n' });
    const head = await source.commit('OPS-8 second change', { 'a.txt': '3\n' });
    const scan = { releaseId: 'release/x', attempt: 'run-1', service, version: 'v1.1.0', commit: head, repo: source.url, jira: { baseUrl: jira.url, issueFromCommit: true, credentialsEnv: 'T_JIRA_CREDS' } };
    const build = createBuildActivities(settings());
    const scanIn = (env: MockActivityEnvironment, i: typeof scan) => env.run(build.scanJiraIssues, i) as Promise<{ issues: string[] }>;
    // The worker's client finds the previous release in visibility (which may lag a moment).
    const found = await eventually(async () => {
      const r = await scanIn(new MockActivityEnvironment(undefined, { client: ctx.client }), scan);
      return r.issues.length === 2 ? r : undefined;
    }, 20_000, 'the scan to see the previous release');
    assert.deepEqual(found.issues, ['OPS-8', 'OPS-7'], 'OLD-1 was in the previous release');
    // Without a previous release (no client): the release commit only.
    assert.deepEqual((await scanIn(new MockActivityEnvironment(), scan)).issues, ['OPS-8']);
    assert.deepEqual((await scanIn(new MockActivityEnvironment(), { ...scan, commit: released })).issues, ['OLD-1']);
    assert.deepEqual((await scanIn(new MockActivityEnvironment(), { ...scan, jira: { ...scan.jira, issueFromCommit: false } })).issues, []);
  });

  test('updateJira with the issues given does no git work: a source repository that does not exist is never read', async () => {
    issues.set('PAY-123', { comments: [], status: 'In Review' });
    const s = settings();
    const input: JiraInput = { releaseId: 'release/y/all/def', attempt: 'run-1', service: 'y', version: 'v2', commit, repo: 'file:///nonexistent/source.git', issues: ['PAY-123'], outcome: 'succeeded', jira: { baseUrl: jira.url, issueFromCommit: true, transition: 'Done', credentialsEnv: 'T_JIRA_CREDS' } };
    assert.deepEqual(await new MockActivityEnvironment().run(updateJira, input, s), { issues: ['PAY-123'] });
    assert.equal(issues.get('PAY-123')!.comments.length, 1);
    assert.equal(issues.get('PAY-123')!.status, 'Done');
    assert.equal(existsSync(s.workDir), false, 'no checkout was made');
    // The same input without issues (a release of older code) scans, and the missing repository fails.
    await assert.rejects(new MockActivityEnvironment().run(updateJira, { ...input, issues: undefined }, s), (e: { type?: string }) => e.type === 'SourceUnavailable');
  });

  test('the comment marker is per attempt: a repeat of the attempt comments once, a new attempt (--retry-failed) comments again', async () => {
    issues.set('PAY-123', { comments: [], status: 'Done' });
    const base: JiraInput = { releaseId: 'release/z/all/abc', service: 'z', version: 'v3', commit, repo: repo.url, issues: ['PAY-123'], outcome: 'failed', jira: { baseUrl: jira.url, issueFromCommit: true, credentialsEnv: 'T_JIRA_CREDS' } };
    const env = new MockActivityEnvironment();
    await env.run(updateJira, { ...base, attempt: 'run-1' }, settings());
    await env.run(updateJira, { ...base, attempt: 'run-1' }, settings());
    assert.deepEqual(issues.get('PAY-123')!.comments.map((c) => c.body.replace(/^.*(\[shipyard:.*\])$/, '$1')), ['[shipyard:release/z/all/abc:run-1:failed]']);
    await env.run(updateJira, { ...base, attempt: 'run-2' }, settings());
    await env.run(updateJira, { ...base, attempt: 'run-2' }, settings());
    // A release of older code (no attempt) keeps its marker; it is not an attempt's.
    await env.run(updateJira, base, settings());
    assert.deepEqual(
      issues.get('PAY-123')!.comments.map((c) => c.body.replace(/^.*(\[shipyard:.*\])$/, '$1')),
      ['[shipyard:release/z/all/abc:run-1:failed]', '[shipyard:release/z/all/abc:run-2:failed]', '[shipyard:release/z/all/abc:failed]'],
    );
  });
});
