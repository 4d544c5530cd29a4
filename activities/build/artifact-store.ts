// Content-addressed artifact store: an artifact is filed under the hash of what produced it
// (commit, target, build settings), so a repeated build of the same inputs is a lookup.
// LocalArtifactStore keeps them in a directory on the build worker (file:// URIs; the only store
// of a single build worker, and the cache of the remote ones). Remote stores (oci-artifacts.ts; an
// S3-compatible one would be another) implement the same interface, chosen by URI in artifacts.ts.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ApplicationFailure } from '@temporalio/common';

export interface StoredArtifact {
  key: string;
  /** Where every reader finds it: file:///... (this worker's disk) or oci://registry/repo@sha256:... */
  uri: string;
  /** Local path of the bytes on this worker, when it has them. */
  path?: string;
  sha256: string;
  size: number;
  meta: Record<string, unknown>;
}

export interface ArtifactStore {
  /** The artifact of `key`, or null: then it must be built. */
  get(key: string): Promise<StoredArtifact | null>;
  /** Stores `file` under `key` (moving or copying it); storing an existing key is a no-op. */
  put(key: string, file: string, name: string, meta: Record<string, unknown>): Promise<StoredArtifact>;
}

export function artifactKey(parts: Record<string, unknown>): string {
  const canonical = JSON.stringify(Object.keys(parts).sort().map((k) => [k, parts[k]]));
  return createHash('sha256').update(canonical).digest('hex');
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export class LocalArtifactStore implements ArtifactStore {
  constructor(readonly root: string) {}

  private dir(key: string): string {
    return join(this.root, key.slice(0, 2), key);
  }

  async get(key: string): Promise<StoredArtifact | null> {
    const dir = this.dir(key);
    try {
      const record = JSON.parse(await readFile(join(dir, 'artifact.json'), 'utf8'));
      const path = join(dir, record.name);
      await stat(path);
      return { key, uri: pathToFileURL(path).href, path, sha256: record.sha256, size: record.size, meta: record.meta };
    } catch {
      return null;
    }
  }

  /**
   * The path of a file:// artifact, its bytes checked against the sha256 the build recorded. A path
   * that is not here was written on another build worker's disk: that needs a shared store.
   */
  async open(artifact: { target: string; uri: string; sha256: string }): Promise<string> {
    const path = fileURLToPath(artifact.uri);
    let actual: string;
    try {
      actual = await sha256File(path);
    } catch {
      throw ApplicationFailure.nonRetryable(
        `artifact for ${artifact.target} is not on this build worker (${artifact.uri}): it was built on another one. ` +
          'Artifacts on a worker\'s disk need a single build worker; with more, give the release a registry ' +
          '(image.repository or build.artifactStore: oci://registry/repository) or the workers SHIPYARD_ARTIFACT_STORE',
        'ArtifactMissing',
      );
    }
    if (actual !== artifact.sha256) {
      throw ApplicationFailure.nonRetryable(`artifact for ${artifact.target} at ${artifact.uri} has sha256 ${actual}, the build recorded ${artifact.sha256}`, 'ArtifactDigestMismatch');
    }
    return path;
  }

  async put(key: string, file: string, name: string, meta: Record<string, unknown>): Promise<StoredArtifact> {
    const existing = await this.get(key);
    if (existing) return existing;
    const dir = this.dir(key);
    // Assemble next to the final place, then rename: readers never see half an artifact.
    const tmp = `${dir}.tmp-${randomBytes(4).toString('hex')}`;
    await mkdir(tmp, { recursive: true });
    try {
      await rename(file, join(tmp, name)).catch(() => copyFile(file, join(tmp, name)));
      const sha256 = await sha256File(join(tmp, name));
      const { size } = await stat(join(tmp, name));
      await writeFile(join(tmp, 'artifact.json'), JSON.stringify({ name, sha256, size, meta }, null, 2));
      await rename(tmp, dir).catch(async (err) => {
        if ((await this.get(key)) === null) throw err; // a concurrent put won the race: fine
      });
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    const stored = await this.get(key);
    if (!stored) throw new Error(`artifact ${key} vanished after storing`);
    return stored;
  }
}
