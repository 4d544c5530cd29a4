// Build activities (task queue shipyard-build): test gate, cross-compile matrix, images, and the
// JIRA issue scan and the release spec read from the app repository (they read the source, which is here).
import type { BuildActivities } from '../types.js';
import { promoteImage, publishImage, type ImageTools } from './image.js';
import { createArtifacts, type Artifacts } from './artifacts.js';
import { buildTarget, runTestGate } from './go.js';
import { buildSettingsFromEnv, type BuildSettings } from './settings.js';
import { scanJiraIssues } from '../jira-scan.js';
import { readRepoSpec } from './spec-from-repo.js';
import { verifyRef } from './ref-check.js';

export function createBuildActivities(
  settings: BuildSettings = buildSettingsFromEnv(),
  // crane from PATH: the tool bootstrap puts its cached build there (scripts/tools.js), a user's own install wins.
  tools: ImageTools = { crane: process.env.SHIPYARD_CRANE || 'crane' },
  // Where builds go and artifacts come from: this worker's disk, or a registry every worker reaches.
  artifacts: Artifacts = createArtifacts(settings, tools),
): BuildActivities {
  return {
    runTestGate: (input) => runTestGate(input, settings),
    buildTarget: (input) => buildTarget(input, settings, artifacts.storeFor(input.artifactStore)),
    publishImage: (input) => publishImage(input, settings, tools, artifacts),
    promoteImage: (input) => promoteImage(input, settings, tools),
    scanJiraIssues: (input) => scanJiraIssues(input, settings),
    readRepoSpec: (input) => readRepoSpec(input, settings),
    verifyRef: (input) => verifyRef(input, settings),
  };
}
