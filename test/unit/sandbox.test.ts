// The sandbox of untrusted builds, without running it (test/integration/sandbox.test.ts runs the
// real bwrap): the scrubbed environment, the bwrap argument list, which secret paths are masked,
// and the gateway rules that decide what is untrusted and which pull requests are not routed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bwrapArgs, sandboxDirs, sandboxEnv, secretPaths } from '../../activities/build/sandbox.js';
import { resolveGatewayConfig } from '../../client/gateway/config.js';
import { normalizeGeneric, normalizeGithub, normalizeGitlab, type GitEvent } from '../../client/gateway/events.js';
import { routeEvent } from '../../client/gateway/routing.js';

const dirs = sandboxDirs({ workDir: '/w' });

test('sandboxEnv: an allowlist; no Temporal, keys, tokens, askpass, SHIPYARD_* or worker PATH', () => {
  const worker = {
    PATH: '/root/bin:/usr/bin',
    HOME: '/root',
    LANG: 'C.UTF-8',
    TEMPORAL_API_KEY: 'k',
    TEMPORAL_TLS_KEY_PATH: '/etc/tls.key',
    TEMPORAL_ADDRESS: 'x:7233',
    SHIPYARD_GIT_ASKPASS: '/bin/askpass',
    GIT_ASKPASS: '/bin/askpass',
    GITHUB_TOKEN: 't',
    AWS_SECRET_ACCESS_KEY: 's',
    GOPRIVATE: 'corp.example',
    GOFLAGS: '-mod=vendor',
    GOPROXY: 'https://proxy.corp',
    SSH_AUTH_SOCK: '/run/ssh.sock',
  };
  const env = sandboxEnv(worker, { goRoot: '/usr/local/go', home: '/w/untrusted/home/abc', dirs, build: { GOOS: 'linux', GOARCH: 'arm', GOARM: '7', CGO_ENABLED: '0' } });
  assert.deepEqual(Object.keys(env).sort(), [
    'CGO_ENABLED', 'GOARCH', 'GOARM', 'GOCACHE', 'GOENV', 'GOFLAGS', 'GOMODCACHE', 'GOOS', 'GOPATH', 'GOPROXY', 'GOROOT', 'GOSUMDB', 'GOTELEMETRY', 'GOTOOLCHAIN', 'HOME', 'LANG', 'PATH', 'TMPDIR',
  ]);
  assert.equal(env.PATH, '/usr/local/go/bin:/usr/local/bin:/usr/bin:/bin');
  assert.equal(env.HOME, '/w/untrusted/home/abc');
  assert.equal(env.GOPROXY, 'off');
  assert.equal(env.GOFLAGS, '-mod=mod -buildvcs=false');
  assert.equal(env.GOCACHE, '/w/untrusted/gocache');
  assert.equal(env.GOMODCACHE, '/w/untrusted/gomodcache');
  // A step may not reopen the network or point at the trusted caches.
  assert.throws(() => sandboxEnv(worker, { goRoot: '/g', home: '/h', dirs, build: { GOPROXY: 'direct' } }), /GOPROXY is not allowed/);
  assert.throws(() => sandboxEnv(worker, { goRoot: '/g', home: '/h', dirs, build: { GOCACHE: '/root/.cache/go-build' } }), /GOCACHE is not allowed/);
  assert.throws(() => sandboxEnv(worker, { goRoot: '/g', home: '/h', dirs, build: { LD_PRELOAD: '/x.so' } }), /LD_PRELOAD is not allowed/);
});

test('secretPaths: existing absolute paths in secret-looking variables only', () => {
  const dir = mkdtempSync(join(tmpdir(), 'secret-paths-'));
  const key = join(dir, 'client.key');
  writeFileSync(key, 'x');
  const found = secretPaths({ TEMPORAL_TLS_KEY_PATH: key, TEMPORAL_TLS_CERT_PATH: join(dir, 'missing.pem'), KUBECONFIG: `${dir}:relative`, EDITOR: key, SHIPYARD_GIT_ASKPASS: 'askpass' });
  assert.deepEqual(found.sort(), [dir, key].sort());
});

test('bwrapArgs: unshare everything, host read-only, fresh /tmp /run and home, only the checkout writable', () => {
  const secretDir = mkdtempSync(join(tmpdir(), 'secret-dir-'));
  const secretFile = join(secretDir, 'tls.key');
  writeFileSync(secretFile, 'x');
  mkdirSync(join(secretDir, 'sub'));
  const args = bwrapArgs({
    writable: ['/w/untrusted/src/svc/abc', '/w/untrusted/home/1', '/w/untrusted/gocache'],
    readOnly: ['/usr/local/go', '/w/untrusted/gomodcache'],
    hide: ['/root', '/w', '/root/.cache/artifacts'],
    secrets: [secretFile, '/etc/ssl/private/key.pem', '/root/.netrc'],
    cwd: '/w/untrusted/src/svc/abc/app',
  });
  const text = args.join(' ');
  assert.deepEqual(args.slice(0, 6), ['--unshare-all', '--die-with-parent', '--new-session', '--cap-drop', 'ALL', '--ro-bind']);
  assert.ok(text.startsWith('--unshare-all --die-with-parent --new-session --cap-drop ALL --ro-bind / / --dev /dev --proc /proc --tmpfs /tmp --tmpfs /var/tmp --tmpfs /run'), text);
  assert.ok(!args.includes('--share-net'));
  assert.ok(text.includes('--tmpfs /root --tmpfs /w '), text);
  assert.ok(!text.includes('/root/.cache/artifacts'), 'already hidden by /root');
  // A secret's directory goes (the file is then not there at all); one in a system directory is masked by /dev/null.
  assert.ok(text.includes(`--tmpfs ${secretDir}`), text);
  assert.ok(text.includes('--tmpfs /etc/ssl/private'), text);
  assert.ok(!text.includes('/root/.netrc'), 'inside the hidden home already');
  // Re-exposed after the hiding mounts, in order: read-only toolchain and modules, then the writable dirs.
  const ro = args.indexOf('/usr/local/go');
  const rw = args.indexOf('/w/untrusted/src/svc/abc');
  assert.ok(args.lastIndexOf('--tmpfs') < ro && ro < rw, text);
  assert.equal(args[ro - 1], '--ro-bind');
  assert.equal(args[args.indexOf('/w/untrusted/gomodcache') - 1], '--ro-bind');
  for (const w of ['/w/untrusted/src/svc/abc', '/w/untrusted/home/1', '/w/untrusted/gocache']) assert.equal(args[args.indexOf(w) - 1], '--bind');
  assert.deepEqual(args.slice(-2), ['--chdir', '/w/untrusted/src/svc/abc/app']);
  // Nothing else is writable.
  assert.deepEqual(args.filter((_, i) => args[i - 1] === '--bind'), ['/w/untrusted/src/svc/abc', '/w/untrusted/home/1', '/w/untrusted/gocache']);
});

test('bwrapArgs: a secret file in a system directory is masked with /dev/null; a secret that holds the checkout is not hidden', () => {
  const args = bwrapArgs({ writable: ['/srv/work/src'], readOnly: [], hide: [], secrets: ['/etc/passwd', '/srv/work'], cwd: '/srv/work/src' });
  const text = args.join(' ');
  assert.ok(text.includes('--ro-bind /dev/null /etc/passwd'), text);
  assert.ok(!text.includes('--tmpfs /srv/work'), text);
});

// ---- gateway: what is untrusted, which pull requests are routed ----

const spec = fileURLToPath(new URL('../../../examples/release.yaml', import.meta.url));

function routes(extra: Record<string, unknown>[]) {
  return resolveGatewayConfig({ routes: extra.map((r) => ({ spec, ...r })) }, '/').loadedRoutes;
}

const head = 'c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00';
const githubPr = (headRepo: string | null) => ({
  action: 'opened',
  repository: { full_name: 'acme/hello' },
  sender: { login: 'mallory' },
  pull_request: { number: 7, head: { sha: head, repo: headRepo === null ? null : { full_name: headRepo } }, base: { ref: 'main', repo: { full_name: 'acme/hello' } } },
});

function event(n: ReturnType<typeof normalizeGithub>): GitEvent {
  assert.ok('event' in n, JSON.stringify(n));
  return n.event;
}

test('events: a pull request from a fork is marked fork (GitHub head repo, GitLab project ids, generic unless fork: false)', () => {
  assert.equal(event(normalizeGithub('pull_request', 'd', githubPr('acme/hello'))).fork, false);
  assert.equal(event(normalizeGithub('pull_request', 'd', githubPr('mallory/hello'))).fork, true);
  assert.equal(event(normalizeGithub('pull_request', 'd', githubPr(null))).fork, true, 'a deleted fork is still a fork');
  const mr = (source: number) => ({
    project: { path_with_namespace: 'acme/hello' },
    object_attributes: { action: 'open', iid: 3, target_branch: 'main', source_project_id: source, target_project_id: 15, last_commit: { id: head } },
  });
  assert.equal(event(normalizeGitlab('Merge Request Hook', 'd', mr(15))).fork, false);
  assert.equal(event(normalizeGitlab('Merge Request Hook', 'd', mr(99))).fork, true);
  const generic = { event: 'pull_request', repo: 'acme/hello', ref: 'refs/pull/1/head', commit: head };
  assert.equal(event(normalizeGeneric('d', generic)).fork, true);
  assert.equal(event(normalizeGeneric('d', { ...generic, fork: false })).fork, false);
  assert.equal(event(normalizeGeneric('d', { ...generic, event: 'push', ref: 'refs/heads/main' })).fork, undefined);
});

test('routing: pull requests are untrusted; fork pull requests are ignored unless allowForks; untrusted: true marks a route', () => {
  const prRoute = { name: 'prs', repo: 'acme/*', event: 'pull_request', buildOnly: true };
  const own = event(normalizeGithub('pull_request', 'd', githubPr('acme/hello')));
  const fork = event(normalizeGithub('pull_request', 'd', githubPr('mallory/hello')));

  const routed = routeEvent(own, routes([prRoute]));
  assert.ok('routed' in routed);
  assert.equal(routed.routed.untrusted, true);

  const ignored = routeEvent(fork, routes([prRoute]));
  assert.deepEqual(ignored, { ignored: 'pull request 7 of acme/hello comes from a fork; route prs does not set allowForks' });

  const allowed = routeEvent(fork, routes([{ ...prRoute, allowForks: true }]));
  assert.ok('routed' in allowed && allowed.routed.untrusted === true);

  const push = { provider: 'github' as const, kind: 'push' as const, repo: 'acme/hello', ref: 'refs/heads/main', branch: 'main', commit: head, deliveryId: 'd', sender: 's' };
  const trusted = routeEvent(push, routes([{ repo: 'acme/*', event: 'push' }]));
  assert.ok('routed' in trusted && trusted.routed.untrusted === false);
  const marked = routeEvent(push, routes([{ repo: 'acme/*', event: 'push', untrusted: true }]));
  assert.ok('routed' in marked && marked.routed.untrusted === true);
});
