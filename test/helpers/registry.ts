// A real OCI registry (Debian's docker-registry, i.e. distribution) on 127.0.0.1 with a temp store.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './net.js';
import { eventually } from './temporal.js';

export interface Registry {
  host: string;
  storage: string;
  stop(): Promise<void>;
  /** Number of blob files in storage (pushes that wrote nothing new leave it unchanged). */
  blobCount(): number;
}

export async function startRegistry(): Promise<Registry> {
  const storage = mkdtempSync(join(tmpdir(), 'registry-'));
  const port = await freePort();
  const config = join(storage, 'config.yml');
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${storage}/data\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  );
  const child: ChildProcess = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  const host = `127.0.0.1:${port}`;
  await eventually(async () => (await fetch(`http://${host}/v2/`)).status === 200, 15_000, 'registry');
  const blobCount = () => {
    const walk = (dir: string): number => {
      let n = 0;
      let entries: string[] = [];
      try {
        entries = readdirSync(dir);
      } catch {
        return 0;
      }
      for (const e of entries) {
        const p = join(dir, e);
        if (statSync(p).isDirectory()) n += walk(p);
        else if (e === 'data') n++;
      }
      return n;
    };
    return walk(join(storage, 'data', 'docker', 'registry', 'v2', 'blobs'));
  };
  return {
    host,
    storage,
    blobCount,
    stop: () => new Promise((r) => { child.once('exit', () => r()); child.kill('SIGTERM'); }),
  };
}
