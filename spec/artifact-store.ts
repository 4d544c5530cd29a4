// Where a release's build artifacts go (activities/build/artifacts.ts reads the value): the spec's
// build.artifactStore, else the image repository (the registry the release publishes to), else
// nothing: the build worker decides (SHIPYARD_ARTIFACT_STORE, else its own disk).
import type { ReleaseSpec } from './schema.js';

export function artifactStoreFor(spec: Pick<ReleaseSpec, 'build' | 'image'>): string | undefined {
  if (spec.build?.artifactStore) return spec.build.artifactStore;
  if (spec.image) return `oci://${spec.image.repository}`;
  return undefined;
}
