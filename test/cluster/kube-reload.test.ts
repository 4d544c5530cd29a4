// The deploy worker's Kubernetes client follows its kubeconfig file (real API server): the file is
// rewritten to point at another address (a TCP relay in front of the same API server, which counts
// the connections it carries), at a closed port, and back; each kube() call talks to what the file
// says now. An unchanged file keeps the cached client. KUBECONFIG is set for this test process only.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kube, kubeFailure } from '../../activities/kube.js';
import { kubeconfig } from '../helpers/cluster.js';

let dir: string;
let file: string;
let original: string;
let relay: Server;
let relayed = 0;
let server: URL;
let serverText: string;

before(async () => {
  const source = kubeconfig();
  dir = mkdtempSync(join(tmpdir(), 'kubeconfig-'));
  file = join(dir, 'config');
  copyFileSync(source, file);
  original = readFileSync(file, 'utf8');
  serverText = /server: *(\S+)/.exec(original)![1];
  server = new URL(serverText);
  process.env.KUBECONFIG = file;
  // A plain TCP relay: TLS passes through, so the API server's certificate (for 127.0.0.1) still fits.
  relay = createServer((socket) => {
    relayed++;
    const upstream = connect(Number(server.port), server.hostname);
    socket.pipe(upstream).pipe(socket);
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', () => r()));
});

after(async () => {
  await new Promise((r) => relay.close(r));
  rmSync(dir, { recursive: true, force: true });
});

function pointAt(url: string): void {
  writeFileSync(file, original.replace(/server: *\S+/, `server: ${url}`));
}

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

describe('kube client reload when the kubeconfig file changes', () => {
  test('rewritten to another server: the next call goes there; an unchanged file keeps the cached client', async () => {
    const direct = kube();
    assert.ok((await direct.core.listNamespace()).items.length > 0);
    assert.equal(kube(), direct, 'same file, same client');
    assert.equal(relayed, 0);

    const relayUrl = `https://127.0.0.1:${(relay.address() as AddressInfo).port}`;
    pointAt(relayUrl);
    const viaRelay = kube();
    assert.notEqual(viaRelay, direct, 'a rewritten file gives a new client');
    assert.equal(viaRelay.kc.getCurrentCluster()?.server, relayUrl);
    const names = (await viaRelay.core.listNamespace()).items.map((n) => n.metadata?.name);
    assert.ok(names.includes('default'));
    assert.ok(relayed > 0, 'the request went through the relay the file now names');

    // Credentials rotated / cluster gone: the file now names a closed port; the client follows it.
    pointAt(`https://127.0.0.1:${await closedPort()}`);
    const err = await kube().core.listNamespace().then(() => undefined, (e) => e);
    assert.ok(err, 'a closed port cannot answer');
    const failure = kubeFailure('listing namespaces', err) as { type?: string; nonRetryable?: boolean };
    assert.equal(failure.type, 'ClusterUnreachable');
    assert.notEqual(failure.nonRetryable, true);

    // Back to the server itself: no more traffic through the relay.
    writeFileSync(file, original);
    const count = relayed;
    assert.ok((await kube().core.listNamespace()).items.length > 0);
    assert.equal(relayed, count, 'talking to the API server directly again');
  });

  test('a kube() call on an unchanged file is cheap: a stat; within 2 s of a write, a stat and a hash', async () => {
    const perCall = () => {
      const n = 5_000;
      const started = process.hrtime.bigint();
      for (let i = 0; i < n; i++) kube();
      return Number(process.hrtime.bigint() - started) / 1000 / n;
    };
    writeFileSync(file, original);
    const first = kube();
    const racy = perCall();
    await new Promise((r) => setTimeout(r, 2100));
    const settled = perCall();
    assert.equal(kube(), first, 'rewriting the same contents keeps the client');
    console.log(`# kube() on an unchanged kubeconfig: ${settled.toFixed(2)} us per call (${racy.toFixed(2)} us within 2 s of a write)`);
    assert.ok(settled < 100 && racy < 1000, `${settled} / ${racy} us per call`);
  });

  test('two same-size rewrites within one timestamp tick are both noticed', async () => {
    const port = Number(server.port);
    // Two closed ports with as many digits as the real one: the file keeps its size.
    const sameSize = async () => {
      for (;;) {
        const p = await closedPort();
        if (String(p).length === String(port).length) return p;
      }
    };
    const [a, b] = [await sameSize(), await sameSize()];
    pointAt(`https://127.0.0.1:${a}`);
    assert.equal(kube().kc.getCurrentCluster()?.server, `https://127.0.0.1:${a}`);
    pointAt(`https://127.0.0.1:${b}`);
    assert.equal(kube().kc.getCurrentCluster()?.server, `https://127.0.0.1:${b}`);
    writeFileSync(file, original);
    assert.equal(kube().kc.getCurrentCluster()?.server, serverText);
  });
});
