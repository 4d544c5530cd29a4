// Turning provider payloads into one shape: which repository, which ref, which commit, which kind
// of event. Anything Shipyard does not act on becomes an `ignored` result with the reason.
import { commitTimeOf } from '../commit-time.js';

export type Provider = 'github' | 'gitlab' | 'generic';
export type EventKind = 'push' | 'tag' | 'pull_request';

export interface GitEvent {
  provider: Provider;
  kind: EventKind;
  /** Repository path as the provider names it: owner/name (GitHub), group/project (GitLab). */
  repo: string;
  ref: string;
  branch?: string;
  tag?: string;
  commit: string;
  deliveryId: string;
  sender: string;
  pullRequest?: number;
  /** A pull request whose head is in another repository than its base (a fork); unknown counts as a fork. */
  fork?: boolean;
  /** When the commit was made (ISO 8601, UTC), from the payload when it says: the lead time of DORA metrics. */
  commitTime?: string;
}

export type Normalized = { event: GitEvent } | { ignored: string } | { ping: true } | { invalid: string };

const SHA = /^[0-9a-f]{40}$/;
const ZERO = /^0{40}$/;

type Json = Record<string, any>;

function refParts(ref: string): { branch?: string; tag?: string } {
  if (ref.startsWith('refs/heads/')) return { branch: ref.slice('refs/heads/'.length) };
  if (ref.startsWith('refs/tags/')) return { tag: ref.slice('refs/tags/'.length) };
  return {};
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 && v.length <= 1024 ? v : undefined;
}

/** The timestamp of the pushed commit in a GitLab push: the entry of `commits[]` that is the checked-out head. */
function gitlabCommitTime(body: Json, commit: unknown): string | undefined {
  if (!Array.isArray(body?.commits)) return undefined;
  const head = body.commits.find((c: unknown) => typeof c === 'object' && c !== null && (c as Json).id === commit);
  return commitTimeOf(head?.timestamp);
}

function withCommitTime(commitTime: string | undefined): { commitTime?: string } {
  return commitTime ? { commitTime } : {};
}

function fromRefPush(provider: Provider, body: Json, repo: string | undefined, commit: unknown, deliveryId: string, sender: string, commitTime?: string): Normalized {
  const ref = str(body.ref);
  if (!repo) return { invalid: 'payload has no repository name' };
  if (!ref) return { invalid: 'payload has no ref' };
  if (body.deleted === true || (typeof commit === 'string' && ZERO.test(commit))) return { ignored: `${ref} was deleted` };
  if (typeof commit !== 'string' || !SHA.test(commit)) return { invalid: 'payload has no 40-hex commit' };
  const { branch, tag } = refParts(ref);
  if (!branch && !tag) return { ignored: `ref ${ref} is neither a branch nor a tag` };
  return { event: { provider, kind: tag ? 'tag' : 'push', repo, ref, branch, tag, commit, deliveryId, sender, ...withCommitTime(commitTime) } };
}

export function normalizeGithub(eventName: string | undefined, deliveryId: string, body: Json): Normalized {
  if (!eventName) return { invalid: 'missing X-GitHub-Event header' };
  const repo = str(body?.repository?.full_name);
  const sender = str(body?.sender?.login) ?? 'github';
  switch (eventName) {
    case 'ping':
      return { ping: true };
    case 'push':
      // head_commit is the commit the pushed ref now names (null when it was deleted); a tag push carries it too.
      return fromRefPush('github', body, repo, body.after, deliveryId, sender, commitTimeOf(body.head_commit?.timestamp));
    case 'pull_request': {
      const action = str(body.action);
      if (!['opened', 'synchronize', 'reopened'].includes(action ?? '')) return { ignored: `pull_request action '${action}' starts nothing` };
      const pr = body.pull_request ?? {};
      const commit = pr.head?.sha;
      if (!repo) return { invalid: 'payload has no repository name' };
      if (typeof commit !== 'string' || !SHA.test(commit)) return { invalid: 'pull request has no 40-hex head commit' };
      const branch = str(pr.base?.ref);
      // head.repo is null when the fork was deleted: still a fork.
      const fork = str(pr.head?.repo?.full_name) !== (str(pr.base?.repo?.full_name) ?? repo);
      return { event: { provider: 'github', kind: 'pull_request', repo, ref: `refs/pull/${pr.number}/head`, branch, commit, deliveryId, sender, pullRequest: Number(pr.number) || undefined, fork } };
    }
    default:
      return { ignored: `GitHub event '${eventName}' is not routed (push, pull_request and ping are)` };
  }
}

export function normalizeGitlab(eventName: string | undefined, deliveryId: string, body: Json): Normalized {
  if (!eventName) return { invalid: 'missing X-Gitlab-Event header' };
  const repo = str(body?.project?.path_with_namespace);
  const sender = str(body?.user_username) ?? str(body?.user?.username) ?? 'gitlab';
  switch (eventName) {
    case 'Push Hook':
    case 'Tag Push Hook': {
      const commit = body.checkout_sha ?? body.after;
      return fromRefPush('gitlab', body, repo, commit, deliveryId, sender, gitlabCommitTime(body, commit));
    }
    case 'Merge Request Hook': {
      const attrs = body.object_attributes ?? {};
      if (!['open', 'update', 'reopen'].includes(attrs.action)) return { ignored: `merge request action '${attrs.action}' starts nothing` };
      const commit = attrs.last_commit?.id;
      if (!repo) return { invalid: 'payload has no project path' };
      if (typeof commit !== 'string' || !SHA.test(commit)) return { invalid: 'merge request has no 40-hex last commit' };
      // Same project: source_project_id equals target_project_id; a fork's merge request differs.
      const fork = attrs.source_project_id === undefined || attrs.source_project_id !== attrs.target_project_id;
      return {
        event: { provider: 'gitlab', kind: 'pull_request', repo, ref: `refs/merge-requests/${attrs.iid}/head`, branch: str(attrs.target_branch), commit, deliveryId, sender, pullRequest: Number(attrs.iid) || undefined, fork },
      };
    }
    default:
      return { ignored: `GitLab event '${eventName}' is not routed (Push Hook, Tag Push Hook, Merge Request Hook are)` };
  }
}

/**
 * Generic body: { event: push|tag|pull_request, repo, ref, commit, sender?, fork?, commitTime? } (a pull
 * request is a fork unless fork: false; commitTime, ISO 8601, is dropped when it is not a date).
 */
export function normalizeGeneric(deliveryId: string, body: Json): Normalized {
  const kind = body?.event;
  if (!['push', 'tag', 'pull_request'].includes(kind)) return { ignored: `event '${String(kind).slice(0, 40)}' is not routed (push, tag, pull_request are)` };
  const repo = str(body.repo);
  const ref = str(body.ref);
  if (!repo) return { invalid: 'body has no repo' };
  if (!ref) return { invalid: 'body has no ref' };
  if (typeof body.commit !== 'string' || !SHA.test(body.commit)) return { invalid: 'body has no 40-hex commit' };
  const { branch, tag } = refParts(ref);
  const fork = kind === 'pull_request' ? body.fork !== false : undefined;
  return { event: { provider: 'generic', kind, repo, ref, branch: branch ?? str(body.branch), tag, commit: body.commit, deliveryId, sender: str(body.sender) ?? 'generic', ...(fork === undefined ? {} : { fork }), ...withCommitTime(commitTimeOf(body.commitTime)) } };
}
