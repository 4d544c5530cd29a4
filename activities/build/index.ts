// Build activities (task queue shipyard-build): test gate, cross-compile matrix, images, and the
// JIRA issue scan and the release spec read from the app repository (they read the source, which is here).
import type { BuildActivities } from '../types.js';
import { promoteImage, publishImage, type ImageTools } from './image.js';
import { LocalArtifactStore, type ArtifactStore } from './artifact-store.js';
import { buildTarget, runTestGate } from './go.js';
import { buildSettingsFromEnv, type BuildSettings } from './settings.js';
import { scanJiraIssues } from '../jira-scan.js';
import { readRepoSpec } from './spec-from-repo.js';
import { verifyRef } from './ref-check.js';

export function createBuildActivities(
  settings: BuildSettings = buildSettingsFromEnv(),
  store: ArtifactStore = new LocalArtifactStore(settings.artifactDir),
  // crane from PATH: the tool bootstrap puts its cached build there (scripts/tools.js), a user's own install wins.
  tools: ImageTools = { crane: process.env.SHIPYARD_CRANE || 'crane' },
): BuildActivities {
  return {
    runTestGate: (input) => runTestGate(input, settings),
    buildTarget: (input) => buildTarget(input, settings, store),
    publishImage: (input) => publishImage(input, settings, tools),
    promoteImage: (input) => promoteImage(input, settings, tools),
    scanJiraIssues: (input) => scanJiraIssues(input, settings),
    readRepoSpec: (input) => readRepoSpec(input, settings),
    verifyRef: (input) => verifyRef(input, settings),
  };
}
