// Untrusted builds under the real bubblewrap with the real Go toolchain: a "pull request" whose
// test prints the environment, reads the worker's TLS key file, writes outside its work directory
// and dials a listener of the worker. Run trusted it gets all of it (so the probe works); run
// sandboxed it gets none, and the same commit still builds, with its artifact keyed apart.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTarget, runTestGate } from '../../activities/build/go.js';
import { LocalArtifactStore } from '../../activities/build/artifact-store.js';
import type { BuildSettings } from '../../activities/build/settings.js';
import { createRepo } from '../helpers/git.js';

const id = randomBytes(4).toString('hex');
const apiKey = `tk-${randomBytes(12).toString('hex')}`;
const keyText = `-----BEGIN PRIVATE KEY----- ${randomBytes(12).toString('hex')}`;
// The key sits where the sandbox's read-only view of the host would show it (not /tmp, not $HOME).
const secretDir = join(process.cwd(), `.sandbox-secret-${id}`);
const keyPath = join(secretDir, 'tls.key');
const outsideTmp = mkdtempSync(join(tmpdir(), 'sandbox-outside-'));
const outsideFiles = [join(outsideTmp, 'pwned'), join(process.cwd(), `.sandbox-pwned-${id}`)];
const saved = { key: process.env.TEMPORAL_TLS_KEY_PATH, api: process.env.TEMPORAL_API_KEY };
let server: Server;
let connections = 0;
let addr = '';
let repoUrl = '';
let commit = '';

const probe = (addr: string) => `package probe

import (
	"encoding/json"
	"net"
	"os"
	"testing"
	"time"
)

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestProbe(t *testing.T) {
	f := map[string]any{"env": os.Environ()}
	b, err := os.ReadFile(${JSON.stringify(keyPath)})
	f["secret"], f["secretErr"] = string(b), errText(err)
	var writes []string
	for _, p := range []string{${outsideFiles.map((p) => JSON.stringify(p)).join(', ')}} {
		writes = append(writes, errText(os.WriteFile(p, []byte("pwned"), 0o644)))
	}
	f["writes"] = writes
	c, err := net.DialTimeout("tcp", ${JSON.stringify(addr)}, 2*time.Second)
	if c != nil {
		c.Close()
	}
	f["dialErr"] = errText(err)
	entries, _ := os.ReadDir(${JSON.stringify(homedir())})
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	f["workerHomeEntries"] = names
	out, _ := json.Marshal(f)
	t.Log(string(out))
	if err := os.WriteFile("findings.json", out, 0o644); err != nil {
		t.Fatal(err)
	}
}
`;

interface Findings {
  env: string[];
  secret: string;
  secretErr: string;
  writes: string[];
  dialErr: string;
  workerHomeEntries: string[] | null;
}

before(async () => {
  mkdirSync(secretDir);
  writeFileSync(keyPath, keyText, { mode: 0o600 });
  process.env.TEMPORAL_TLS_KEY_PATH = keyPath;
  process.env.TEMPORAL_API_KEY = apiKey;
  server = createServer((s) => {
    connections++;
    s.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  addr = `127.0.0.1:${(server.address() as { port: number }).port}`;
  const repo = await createRepo();
  repoUrl = repo.url;
  commit = await repo.commit('pull request with a probe', { 'probe/probe_test.go': probe(addr) });
});

after(() => {
  process.env.TEMPORAL_TLS_KEY_PATH = saved.key;
  process.env.TEMPORAL_API_KEY = saved.api;
  if (saved.key === undefined) delete process.env.TEMPORAL_TLS_KEY_PATH;
  if (saved.api === undefined) delete process.env.TEMPORAL_API_KEY;
  server?.close();
  for (const p of [secretDir, outsideTmp, ...outsideFiles]) rmSync(p, { recursive: true, force: true });
});

function settings(workDir: string): BuildSettings {
  return { workDir, artifactDir: join(workDir, '..', 'artifacts'), insecureRegistries: [] };
}

const input = () => ({ repo: repoUrl, commit, version: commit.slice(0, 12), service: `sbx-${id}`, releaseId: `release/sbx-${id}/build/${commit}`, goPackage: './cmd/hello' });

test('trusted (no sandbox): the probe reads the key, sees the API key, writes outside and connects', { timeout: 600_000 }, async () => {
  const s = settings(join(mkdtempSync(join(tmpdir(), 'sandbox-trusted-')), 'work'));
  const before = connections;
  const result = await runTestGate({ ...input(), vet: false }, s);
  assert.equal(result.packages >= 2, true, `packages ${result.packages}`);
  const f = JSON.parse(readFileSync(join(s.workDir, 'src', input().service, commit, 'probe', 'findings.json'), 'utf8')) as Findings;
  assert.equal(f.secret, keyText);
  assert.ok(f.env.includes(`TEMPORAL_API_KEY=${apiKey}`));
  assert.deepEqual(f.writes, ['', '']);
  for (const p of outsideFiles) assert.equal(readFileSync(p, 'utf8'), 'pwned'), rmSync(p);
  assert.equal(f.dialErr, '');
  assert.equal(connections, before + 1);
});

test('sandboxed: no secrets, no outside writes, no network, no worker home; the build still works', { timeout: 900_000 }, async () => {
  // A persistent work dir: the untrusted Go build cache (race runtime) is cold only on the first run.
  const s = settings(join(homedir(), '.cache', 'shipyard', 'test-sandbox', 'work'));
  const before = connections;
  await runTestGate({ ...input(), vet: true, sandbox: true }, s);
  const text = readFileSync(join(s.workDir, 'untrusted', 'src', input().service, commit, 'probe', 'findings.json'), 'utf8');
  const f = JSON.parse(text) as Findings;
  assert.ok(!text.includes(apiKey), 'the API key must not reach the sandbox');
  assert.ok(!text.includes(keyText), 'the TLS key must not be readable');
  assert.equal(f.secret, '');
  assert.match(f.secretErr, /no such file or directory/);
  assert.deepEqual(
    f.env.filter((e) => /^(TEMPORAL_|SHIPYARD_|GIT_ASKPASS|SSH_AUTH_SOCK|KUBECONFIG)/.test(e) || /(_KEY|_TOKEN|_SECRET)=/.test(e)),
    [],
  );
  assert.ok(f.env.includes('GOPROXY=off'));
  assert.ok(f.env.some((e) => e.startsWith(`HOME=${join(s.workDir, 'untrusted', 'home')}`)), f.env.join('\n'));
  // The tmp write went to the sandbox's own /tmp (whose directory is not there). The other goes to the
  // working directory: read-only when it is a host path, or (a checkout under /tmp, as CI's clone is)
  // the sandbox's own empty /tmp. Either way nothing reaches the host, which the loop below checks.
  assert.match(f.writes[0], /no such file or directory/);
  if (process.cwd().startsWith('/tmp/')) assert.match(f.writes[1], /^$|no such file or directory/);
  else assert.match(f.writes[1], /read-only file system/);
  for (const p of outsideFiles) assert.equal(existsSync(p), false, `${p} must not exist on the host`);
  assert.notEqual(f.dialErr, '');
  assert.equal(connections, before, 'no connection may reach the worker listener');
  // The worker home is an empty tmpfs; only the way to the work directory bound into it (under ~/.cache here).
  assert.deepEqual(f.workerHomeEntries, ['.cache'], 'the worker home is an empty tmpfs');

  const store = new LocalArtifactStore(s.artifactDir);
  const sandboxed = await buildTarget({ ...input(), target: 'linux/amd64', ldflags: '-s -w', sandbox: true }, s, store);
  const trusted = await buildTarget({ ...input(), target: 'linux/amd64', ldflags: '-s -w' }, s, store);
  assert.equal(trusted.cacheHit, false, 'an untrusted artifact never answers a trusted build');
  assert.notEqual(sandboxed.uri, trusted.uri);
  // Same source, reproducible flags: the sandbox compiles the same binary.
  assert.equal(sandboxed.sha256, trusted.sha256);
});
