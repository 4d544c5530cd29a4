// The activity sets each worker role registers. Adapters that do not exist yet are loud stubs.
import type { DeployActivities, IntegrationActivities } from './types.js';

export { createBuildActivities } from './build/index.js';
import { createNotifier, notifySettingsFromEnv, type NotifySettings } from './notify/index.js';
import { updateJira } from './jira.js';
import { buildSettingsFromEnv, type BuildSettings } from './build/settings.js';
import { helmCurrentRevision, helmDeploy, helmPromote, helmRollback } from './deploy/helm.js';
import { gitopsRevert, gitopsUpdate } from './deploy/gitops.js';
import { checkHealth } from './deploy/health.js';
import { httpProbe } from './deploy/probe.js';
import { createTrafficActivities } from './traffic/index.js';
import { PrometheusProvider } from './metrics/prometheus.js';
import { measureSeries } from './metrics/series.js';
import { judgeCanary } from './metrics/canary-judge.js';
import { WebMetricProvider } from './metrics/web.js';
import { providerFor } from './metrics/provider.js';

export function createDeployActivities(build: BuildSettings = buildSettingsFromEnv()): DeployActivities {
  const git = { askpass: build.askpass };
  const metrics = providerFor({ prometheus: new PrometheusProvider(), web: new WebMetricProvider() });
  return {
    helmCurrentRevision,
    helmDeploy,
    helmRollback,
    helmPromote,
    gitopsUpdate: (input) => gitopsUpdate(input, git),
    gitopsRevert: (input) => gitopsRevert(input, git),
    checkHealth: (input) => checkHealth(input, git),
    httpProbe,
    ...createTrafficActivities(),
    measureMetric: (input) => metrics.measure(input.metric),
    measureSeries: (input) => measureSeries(input, metrics),
    judgeCanary,
  };
}

export function createIntegrationActivities(settings: NotifySettings = notifySettingsFromEnv(), build: BuildSettings = buildSettingsFromEnv()): IntegrationActivities {
  const { notify } = createNotifier(settings);
  return {
    notify,
    updateJira: (input) => updateJira(input, build),
  };
}
