// Which artifact store a build writes to and how an artifact is read back, by URI scheme:
//   local / file://   the build worker's own disk (LocalArtifactStore): one build worker only
//   oci://registry/repository   OCI artifacts in a registry (OciArtifactStore): any number of workers
// A release names its store in the build input (`artifactStore`, from the spec: build.artifactStore,
// else its image repository); without one, the worker's SHIPYARD_ARTIFACT_STORE, else local.
// Another backend (e.g. s3://) is one more case in `storeFor` and `open`.
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { BuildArtifact } from '../types.js';
import { LocalArtifactStore, type ArtifactStore } from './artifact-store.js';
import type { ImageTools } from './crane.js';
import { OciArtifactStore, parseArtifactUri, type OciDeps } from './oci-artifacts.js';
import type { BuildSettings } from './settings.js';

export type ArtifactRef = Pick<BuildArtifact, 'target' | 'uri' | 'sha256'>;

export interface ArtifactReader {
  /** A local path to the artifact's bytes, checked against its sha256; pulled by digest when remote. */
  open(artifact: ArtifactRef): Promise<string>;
}

export class Artifacts implements ArtifactReader {
  private readonly oci: OciDeps;

  constructor(
    readonly local: LocalArtifactStore,
    settings: BuildSettings,
    tools: ImageTools,
    /** The worker's default store for builds whose input names none (SHIPYARD_ARTIFACT_STORE). */
    private readonly defaultLocation = settings.artifactStore,
  ) {
    this.oci = { local, cacheDir: join(local.root, 'oci'), settings, tools };
  }

  /** The store a build writes to. */
  storeFor(location: string | undefined): ArtifactStore {
    const where = location ?? this.defaultLocation;
    if (!where || where === 'local') return this.local;
    if (where.startsWith('oci://')) return new OciArtifactStore(where, this.oci);
    throw ApplicationFailure.nonRetryable(`artifact store '${where}': expected local or oci://registry/repository`, 'InvalidSpec');
  }

  open(artifact: ArtifactRef): Promise<string> {
    if (artifact.uri.startsWith('file:')) return this.local.open(artifact);
    if (artifact.uri.startsWith('oci://')) return new OciArtifactStore(`oci://${parseArtifactUri(artifact.uri).repository}`, this.oci).open(artifact);
    throw ApplicationFailure.nonRetryable(`artifact ${artifact.uri} (${artifact.target}): no store reads this kind of URI`, 'InvalidArtifact');
  }
}

export function createArtifacts(settings: BuildSettings, tools: ImageTools): Artifacts {
  return new Artifacts(new LocalArtifactStore(settings.artifactDir), settings, tools);
}
