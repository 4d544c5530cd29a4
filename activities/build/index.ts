// Build activities (task queue shipyard-build): test gate, cross-compile matrix, images.
import type { BuildActivities } from '../types.js';
import { notImplemented } from '../not-implemented.js';
import { LocalArtifactStore, type ArtifactStore } from './artifact-store.js';
import { buildTarget, runTestGate } from './go.js';
import { buildSettingsFromEnv, type BuildSettings } from './settings.js';

export function createBuildActivities(
  settings: BuildSettings = buildSettingsFromEnv(),
  store: ArtifactStore = new LocalArtifactStore(settings.artifactDir),
): BuildActivities {
  return {
    runTestGate: (input) => runTestGate(input, settings),
    buildTarget: (input) => buildTarget(input, settings, store),
    publishImage: notImplemented('OCI image', 4),
  };
}
