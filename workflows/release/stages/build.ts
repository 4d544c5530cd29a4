// The build matrix (test gate, one activity per target) and the image publish.
import { patched } from '@temporalio/workflow';
import type { ImageRef } from '../../../activities/types.js';
import { artifactStoreFor } from '../../../spec/artifact-store.js';
import type { EnvironmentSpec } from '../../../spec/schema.js';
import { checkpoint } from '../gates.js';
import type { ReleaseState } from '../state.js';

/** Builds name their artifact store (a registry every build worker reaches); recorded builds did not. */
export const PATCH_ARTIFACT_STORE = 'artifact-store';

export async function buildStage(r: ReleaseState): Promise<void> {
  const build = r.spec.build!;
  // Untrusted source (pull requests) builds in the sandbox; the field is only there when true, so
  // the activity inputs of trusted releases (and recorded histories) are unchanged.
  const src = { ...r.ref(), repo: r.spec.source.repo, dir: r.spec.source.dir, goPackage: r.spec.source.goPackage, ...(r.input.untrusted ? { sandbox: true } : {}) };
  await checkpoint(r);
  r.setStage('build');
  if (build.test) await r.acts.build.runTestGate({ ...src, vet: build.vet });
  // Artifacts go to the release's registry (oci://, pulled by digest by whichever build worker
  // publishes the image); a spec without one leaves the choice to the build worker.
  const store = artifactStoreFor(r.spec);
  const where = store && patched(PATCH_ARTIFACT_STORE) ? { artifactStore: store } : {};
  // One activity per target, in parallel; the build worker's concurrency bounds them.
  const artifacts = await Promise.all(
    build.targets.map((target) => r.acts.build.buildTarget({ ...src, target, ldflags: build.ldflags, versionVariable: build.versionVariable, ...where })),
  );
  r.status.build = { commit: r.input.commit, version: r.input.version, goVersion: artifacts[0]?.goVersion, artifacts };
  r.closeStage('ok', `${artifacts.length} target(s)`);
}

export async function imageStage(r: ReleaseState): Promise<void> {
  const image = r.spec.image!;
  await checkpoint(r);
  r.setStage('images');
  const artifacts = (r.status.build?.artifacts ?? []).filter((a) => image.platforms.includes(a.target));
  r.status.image = await r.acts.build.publishImage({
    ...r.ref(),
    repository: image.repository,
    platforms: image.platforms,
    base: image.base,
    source: r.spec.source.repo,
    artifacts,
  });
  r.closeStage('ok', `${r.status.image.repository}@${r.status.image.digest}`);
}

/** The image an environment deploys: the published one, or its copy in the environment's repository. */
export async function environmentImage(r: ReleaseState, env: EnvironmentSpec): Promise<ImageRef | null> {
  if (!env.image || !r.status.image) return r.status.image;
  await checkpoint(r);
  r.setStage('images', env.name, `promote to ${env.image.repository}`);
  const promoted = await r.acts.build.promoteImage({ ...r.ref(env.name), image: r.status.image, repository: env.image.repository });
  r.closeStage('ok', `${promoted.repository}@${promoted.digest}`);
  return promoted;
}
