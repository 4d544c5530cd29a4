// Traffic and workload activities of a canary (task queue shipyard-deploy). The undos (restore*,
// clearFault) return an UndoResult read back from the API server: undone, unchanged, or skipped
// when their target (VirtualService, route, Deployment) no longer exists.
import { ApplicationFailure } from '@temporalio/common';
import { parseDuration } from '../../spec/duration.js';
import type { DeployActivities, TrafficInput } from '../types.js';
import { GatewayApiRouter } from './gateway-api.js';
import { IstioRouter } from './istio.js';
import type { TrafficRouter } from './router.js';
import { imagesOf, restoreImages, restoreReplicas, scaleDeployment, setImages } from './workloads.js';
import { ensureCanaryPlumbing, removeCanaryPlumbing, stableWorkloadExists } from './plumbing.js';

function routerFor(input: TrafficInput): TrafficRouter {
  if (input.router.istio) return new IstioRouter();
  if (input.router.gatewayApi) return new GatewayApiRouter();
  throw ApplicationFailure.nonRetryable('no traffic router configured (canary.router.istio or canary.router.gatewayApi)', 'InvalidSpec');
}

type TrafficActivities = Pick<DeployActivities, 'getTrafficWeights' | 'setTrafficWeight' | 'restoreTraffic' | 'promoteCanary' | 'scaleCanary' | 'readImages' | 'restoreImages' | 'setFault' | 'restoreReplicas' | 'clearFault' | 'stableWorkloadExists' | 'ensureCanaryPlumbing' | 'removeCanaryPlumbing'>;

export function createTrafficActivities(): TrafficActivities {
  return {
    getTrafficWeights: (i) => routerFor(i).getWeights(i),
    setTrafficWeight: (i) => routerFor(i).setWeights(i, { stable: 100 - i.weight, canary: i.weight }),
    restoreTraffic: (i) => routerFor(i).restoreWeights(i, i.weights),
    async promoteCanary(i) {
      if (i.workloads) {
        const images = await imagesOf(i.namespace, i.workloads.canary, i);
        await setImages(i.namespace, i.workloads.stable, images, parseDuration(i.timeout ?? '5m'), i);
      }
      await routerFor(i).setWeights(i, { stable: 100, canary: 0 });
    },
    scaleCanary: async (i) => ({ previous: await scaleDeployment(i.namespace, i.deployment, i.replicas, i) }),
    readImages: (i) => imagesOf(i.namespace, i.deployment, i),
    restoreImages: (i) => restoreImages(i.namespace, i.deployment, i.images, parseDuration(i.timeout), i),
    setFault: (i) => routerFor(i).setFault(i, i.fault),
    restoreReplicas: (i) => restoreReplicas(i.namespace, i.deployment, i.replicas, i),
    clearFault: (i) => routerFor(i).clearFault(i),
    stableWorkloadExists,
    ensureCanaryPlumbing,
    removeCanaryPlumbing,
  };
}
