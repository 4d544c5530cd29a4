// JIRA through a release: a real HTTP listener answers as the JIRA REST API does (including its
// error bodies and a 429 with Retry-After); the issue keys come from a real git repository's commit
// messages. Deploy activities are MOCKED; the updateJira activity and Temporal's retries are real.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { updateJira, issueKeys } from '../../activities/jira.js';
import type { JiraInput } from '../../activities/types.js';
import { FakeWorld } from '../helpers/fake-activities.js';
import { json, startEndpoint, type Endpoint, type Received } from '../helpers/fake-endpoints.js';
import { createRepo, type TestRepo } from '../helpers/git.js';
import { startRelease } from '../helpers/release.js';
import { twoEnvSpec } from '../helpers/specs.js';
import { connectClient, uniqueName, uniqueQueues, withWorkers, type TemporalTestContext } from '../helpers/temporal.js';
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
    await withWorkers(queues, { build: world.build(), deploy: { ...world.deploy(), updateJira: integration.updateJira } }, async () => {
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
        assert.match(comments[0].body, new RegExp(`Release v5.0.0 of .*: succeeded\\. Commit ${commit.slice(0, 12)}\\. \\[shipyard:${releaseId.replace(/[/+]/g, '\\$&')}:succeeded\\]`));
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
});
