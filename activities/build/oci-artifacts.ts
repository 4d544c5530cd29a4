// Build artifacts as OCI artifacts in a registry, so every build worker reads what any one built.
// One artifact = one OCI image manifest (OCI 1.1 artifact form): artifactType
// application/vnd.shipyard.build.artifact.v1, the empty config, one layer (the binary, media type
// application/vnd.shipyard.build.binary.v1, titled with its file name) and the build inputs as
// annotations. The manifest is written byte for byte here (fixed key order, no timestamps), so the
// same binary and inputs always give the same digest and a re-push writes nothing. It is tagged
// `artifact-<key>` (the content-addressed key of artifact-store.ts: another worker's lookup, and
// registries that collect untagged manifests keep it) and referenced by digest:
//   oci://registry/repository@sha256:<manifest digest>
// Readers pull by that digest and check three things: the manifest's digest, that its layer is the
// binary the build recorded (sha256 in workflow data) and the bytes' sha256. The local store is the
// cache on both sides: builds land there first, pulls go to <artifactDir>/oci/<manifest digest>/.
// crane does the transport (and the registry's auth, from the docker config): `crane push` of an OCI
// layout keeps the manifest as written, `crane manifest`/`crane blob` read by digest.
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { sha256File, type ArtifactStore, type LocalArtifactStore, type StoredArtifact } from './artifact-store.js';
import { crane, isNotFound, REPOSITORY_PATTERN, type ImageTools } from './crane.js';
import type { BuildSettings } from './settings.js';

export const ARTIFACT_TYPE = 'application/vnd.shipyard.build.artifact.v1';
export const BINARY_MEDIA_TYPE = 'application/vnd.shipyard.build.binary.v1';
const MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
/** The OCI empty descriptor (`{}`), the config of artifacts that need none. */
const EMPTY_CONFIG = { mediaType: 'application/vnd.oci.empty.v1+json', digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', size: 2, data: 'e30=' };
const TITLE = 'org.opencontainers.image.title';
const ANNOTATION_PREFIX = 'dev.shipyard.build.';

export interface OciDeps {
  local: LocalArtifactStore;
  /** Where pulled artifacts are cached (and push layouts assembled). */
  cacheDir: string;
  settings: BuildSettings;
  tools: ImageTools;
}

export function tagFor(key: string): string {
  return `artifact-${key}`;
}

/** `oci://registry/repo` -> `registry/repo`, or InvalidSpec. */
export function repositoryOf(location: string): string {
  const repository = location.replace(/^oci:\/\//, '');
  if (!location.startsWith('oci://') || !REPOSITORY_PATTERN.test(repository)) {
    throw ApplicationFailure.nonRetryable(`artifact store '${location}' is not oci://registry/repository`, 'InvalidSpec');
  }
  return repository;
}

/** `oci://registry/repo@sha256:<hex>` -> its repository and digest. */
export function parseArtifactUri(uri: string): { repository: string; digest: string } {
  const m = /^oci:\/\/([^@]+)@(sha256:[0-9a-f]{64})$/.exec(uri);
  if (!m) throw ApplicationFailure.nonRetryable(`artifact URI '${uri}' is not oci://registry/repository@sha256:<digest>`, 'InvalidArtifact');
  return { repository: m[1], digest: m[2] };
}

/** The manifest of one binary, byte for byte (its digest is the artifact's identity). */
export function artifactManifest(a: { sha256: string; size: number; name: string; meta: Record<string, unknown> }): string {
  const annotations: Record<string, string> = {};
  for (const k of Object.keys(a.meta).sort()) annotations[`${ANNOTATION_PREFIX}${k}`] = String(a.meta[k]);
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: MANIFEST_MEDIA_TYPE,
    artifactType: ARTIFACT_TYPE,
    config: EMPTY_CONFIG,
    layers: [{ mediaType: BINARY_MEDIA_TYPE, digest: `sha256:${a.sha256}`, size: a.size, annotations: { [TITLE]: a.name } }],
    annotations,
  });
}

interface ParsedManifest {
  blob: string;
  size: number;
  name: string;
  meta: Record<string, unknown>;
}

function parseManifest(raw: Buffer, ref: string): ParsedManifest {
  let m: { artifactType?: string; layers?: { mediaType?: string; digest?: string; size?: number; annotations?: Record<string, string> }[]; annotations?: Record<string, string> };
  try {
    m = JSON.parse(raw.toString('utf8'));
  } catch {
    throw ApplicationFailure.nonRetryable(`${ref} is not a JSON manifest`, 'InvalidArtifact');
  }
  const layer = m.layers?.[0];
  if (m.artifactType !== ARTIFACT_TYPE || m.layers?.length !== 1 || layer?.mediaType !== BINARY_MEDIA_TYPE || !/^sha256:[0-9a-f]{64}$/.test(layer.digest ?? '')) {
    throw ApplicationFailure.nonRetryable(`${ref} is not a Shipyard build artifact (artifactType ${m.artifactType ?? 'none'}, want ${ARTIFACT_TYPE} with one ${BINARY_MEDIA_TYPE} layer)`, 'InvalidArtifact');
  }
  const meta: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m.annotations ?? {})) if (k.startsWith(ANNOTATION_PREFIX)) meta[k.slice(ANNOTATION_PREFIX.length)] = v;
  return { blob: layer.digest!, size: layer.size ?? 0, name: layer.annotations?.[TITLE] ?? 'artifact', meta };
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** The store of one repository (a release's `build.artifactStore` or image repository). */
export class OciArtifactStore implements ArtifactStore {
  readonly repository: string;

  constructor(location: string, private readonly deps: OciDeps) {
    this.repository = repositoryOf(location);
  }

  private crane(args: string[], stdoutFile?: string): Promise<string> {
    return crane(this.deps.tools, this.deps.settings, args, this.repository, { stdoutFile });
  }

  async get(key: string): Promise<StoredArtifact | null> {
    // Built here before: make sure the registry has it too (pushing what is there is a few HEADs).
    const local = await this.deps.local.get(key);
    if (local) return this.push(local);
    // Built on another worker: the tag names it.
    let digest: string;
    try {
      digest = await this.crane(['digest', `${this.repository}:${tagFor(key)}`]);
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
    const m = await this.manifest(digest);
    return { key, uri: `oci://${this.repository}@${digest}`, sha256: m.blob.slice('sha256:'.length), size: m.size, meta: m.meta };
  }

  async put(key: string, file: string, name: string, meta: Record<string, unknown>): Promise<StoredArtifact> {
    return this.push(await this.deps.local.put(key, file, name, meta));
  }

  /** Pushes a locally stored artifact as an OCI layout (crane keeps the manifest bytes) and checks the digest the registry names. */
  private async push(stored: StoredArtifact): Promise<StoredArtifact> {
    const path = stored.path!;
    const name = path.split('/').pop()!;
    const manifest = artifactManifest({ sha256: stored.sha256, size: stored.size, name, meta: stored.meta });
    const digest = `sha256:${sha256(manifest)}`;
    const layout = join(this.deps.cacheDir, `push-${randomBytes(6).toString('hex')}`);
    const blobs = join(layout, 'blobs', 'sha256');
    await mkdir(blobs, { recursive: true });
    try {
      await link(path, join(blobs, stored.sha256)).catch(() => copyFile(path, join(blobs, stored.sha256)));
      await writeFile(join(blobs, EMPTY_CONFIG.digest.slice(7)), '{}');
      await writeFile(join(blobs, digest.slice(7)), manifest);
      await writeFile(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
      await writeFile(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: MANIFEST_MEDIA_TYPE, digest, size: Buffer.byteLength(manifest) }] }));
      const pushed = await this.crane(['push', layout, `${this.repository}:${tagFor(stored.key)}`]);
      if (!pushed.endsWith(`@${digest}`)) throw new Error(`registry took artifact ${stored.key} as '${pushed}', expected digest ${digest}`);
    } finally {
      await rm(layout, { recursive: true, force: true });
    }
    // This worker reads it back from its pull cache, without a download (open() checks the bytes).
    const cached = join(this.deps.cacheDir, digest.slice('sha256:'.length));
    await mkdir(cached, { recursive: true });
    await link(path, join(cached, 'blob')).catch(() => undefined); // already there
    return { ...stored, uri: `oci://${this.repository}@${digest}` };
  }

  /** The manifest by digest, its bytes hashed here as well. */
  private async manifest(digest: string): Promise<ParsedManifest> {
    const ref = `${this.repository}@${digest}`;
    const file = join(this.deps.cacheDir, `manifest-${randomBytes(6).toString('hex')}`);
    await mkdir(this.deps.cacheDir, { recursive: true });
    try {
      await this.crane(['manifest', ref], file).catch((err) => {
        if (isNotFound(err)) throw missing(ref, 'its manifest');
        throw err;
      });
      const raw = await readFile(file);
      if (`sha256:${sha256(raw)}` !== digest) throw mismatch(`manifest ${ref} hashes to sha256:${sha256(raw)}`);
      return parseManifest(raw, ref);
    } finally {
      await rm(file, { force: true });
    }
  }

  /** A local copy of the artifact, pulled by digest unless cached; every byte checked. */
  async open(artifact: { target: string; uri: string; sha256: string }): Promise<string> {
    const { digest } = parseArtifactUri(artifact.uri);
    const dir = join(this.deps.cacheDir, digest.slice('sha256:'.length));
    const cached = join(dir, 'blob');
    if ((await sha256File(cached).catch(() => null)) === artifact.sha256) return cached;
    const m = await this.manifest(digest);
    if (m.blob !== `sha256:${artifact.sha256}`) {
      throw mismatch(`${artifact.uri} (${artifact.target}) holds ${m.blob}, the build recorded sha256:${artifact.sha256}`);
    }
    await mkdir(dir, { recursive: true });
    const tmp = join(dir, `blob.tmp-${randomBytes(4).toString('hex')}`);
    try {
      const ref = `${this.repository}@${m.blob}`;
      await this.crane(['blob', ref], tmp).catch((err) => {
        if (isNotFound(err)) throw missing(ref, 'its binary');
        if (/checksum|digest/i.test(String(err?.message))) throw mismatch(`${ref} (${artifact.target}): ${err.message}`);
        throw err;
      });
      const actual = await sha256File(tmp);
      if (actual !== artifact.sha256) throw mismatch(`${ref} (${artifact.target}) served bytes with sha256 ${actual}`);
      await rename(tmp, cached);
    } finally {
      await rm(tmp, { force: true });
    }
    return cached;
  }
}

function missing(ref: string, what: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    `build artifact ${ref} is gone from the registry (${what}: deleted or garbage-collected?); start the release again with --retry-failed to rebuild it`,
    'ArtifactMissing',
  );
}

function mismatch(detail: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`build artifact does not match its digest: ${detail}`, 'ArtifactDigestMismatch');
}
