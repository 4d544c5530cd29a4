// The activity sets each worker role registers. Adapters that do not exist yet are loud stubs.
import type { DeployActivities, IntegrationActivities } from './types.js';
import { notImplemented } from './not-implemented.js';

export { createBuildActivities } from './build/index.js';
import { createNotifier, notifySettingsFromEnv, type NotifySettings } from './notify/index.js';
import { updateJira } from './jira.js';
import { buildSettingsFromEnv, type BuildSettings } from './build/settings.js';

export function createDeployActivities(): DeployActivities {
  return {
    helmCurrentRevision: notImplemented('helm', 5),
    helmDeploy: notImplemented('helm', 5),
    helmRollback: notImplemented('helm', 5),
    gitopsUpdate: notImplemented('gitops', 5),
    gitopsRevert: notImplemented('gitops', 5),
    checkHealth: notImplemented('kubernetes rollout health', 5),
    getTrafficWeights: notImplemented('istio traffic router', 6),
    setTrafficWeight: notImplemented('istio traffic router', 6),
    restoreTraffic: notImplemented('istio traffic router', 6),
    promoteCanary: notImplemented('istio traffic router', 6),
    measureMetric: notImplemented('prometheus metrics', 6),
  };
}

export function createIntegrationActivities(settings: NotifySettings = notifySettingsFromEnv(), build: BuildSettings = buildSettingsFromEnv()): IntegrationActivities {
  const { notify } = createNotifier(settings);
  return {
    notify,
    updateJira: (input) => updateJira(input, build),
  };
}
