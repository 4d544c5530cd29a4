// Which helm release and chart a canary promotion upgrades (pure: unit-tested outside a workflow).
import type { EnvironmentSpec, HelmDeploySpec } from '../../../spec/schema.js';

type PromoteHelm = NonNullable<NonNullable<NonNullable<EnvironmentSpec['canary']>['promote']>['helm']>;

/**
 * The stable release promotion upgrades: the deploy's helm settings with promote.helm's release and
 * chart. A chart of its own brings its own version, repo and plainHttp (none of the deploy's); the
 * fields are only set when present, so releases from before they existed get the same input.
 */
export function promoteTarget(deploy: HelmDeploySpec, promote: PromoteHelm): HelmDeploySpec {
  const helm: HelmDeploySpec = { ...deploy, release: promote.release ?? deploy.release, chart: promote.chart ?? deploy.chart };
  if (promote.chart === undefined) return helm;
  delete helm.version;
  delete helm.repo;
  if (promote.version !== undefined) helm.version = promote.version;
  if (promote.repo !== undefined) helm.repo = promote.repo;
  if (promote.plainHttp !== undefined || deploy.plainHttp !== undefined) helm.plainHttp = promote.plainHttp ?? false;
  return helm;
}
