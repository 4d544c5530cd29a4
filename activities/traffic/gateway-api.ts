// Gateway API traffic routing: the stable/canary weights of one rule of an HTTPRoute
// (gateway.networking.k8s.io/v1, standard channel), optional header-based routing of matching
// requests to the canary (A/B, a rule of its own) and an optional RequestMirror filter to the canary,
// both only while the canary takes traffic. The rule lists both backends (the canary at weight 0
// before the first release); Gateway API weights are proportions and are reported as percentages.
// Writes are read-modify-replace with the resourceVersion (a concurrent edit is retried, not
// overwritten); what is returned is read back from the API server afterwards; weights already there
// change nothing. Gateway API has no fault injection: fault steps need the Istio router.
import { ApplicationFailure } from '@temporalio/common';
import { kube, kubeFailure, statusOf } from '../kube.js';
import type { RouteWeights, UndoResult } from '../types.js';
import type { FaultSpec, TrafficRouter, TrafficTarget } from './router.js';
import { applyWanted, backendsOf, canonical, noRule, percentages, ruleOf, type GatewayApiConfig, type HTTPRoute, type Namespaces } from './gateway-api-rules.js';

const GROUP = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes' };
const ATTEMPTS = 5;

function configOf(t: TrafficTarget): GatewayApiConfig {
  if (!t.router.gatewayApi) throw ApplicationFailure.nonRetryable('the Gateway API router needs canary.router.gatewayApi', 'InvalidSpec');
  return t.router.gatewayApi;
}

/** The route in canary.router.gatewayApi.namespace (default: the workloads'), the backends next to the workloads. */
const namespacesOf = (t: TrafficTarget): Namespaces => ({ route: configOf(t).namespace ?? t.namespace, backends: t.namespace });
const nameOf = (t: TrafficTarget) => `HTTPRoute ${namespacesOf(t).route}/${configOf(t).httpRoute}`;
const notFound = (t: TrafficTarget) => `${nameOf(t)} not found`;

/** The HTTPRoute, or null when it does not exist. */
async function readOptional(t: TrafficTarget): Promise<HTTPRoute | null> {
  try {
    return (await kube(t).custom.getNamespacedCustomObject({ ...GROUP, namespace: namespacesOf(t).route, name: configOf(t).httpRoute })) as HTTPRoute;
  } catch (err) {
    if (statusOf(err) === 404) return null;
    throw kubeFailure(`reading ${nameOf(t)}`, err);
  }
}

async function read(t: TrafficTarget): Promise<HTTPRoute> {
  const route = await readOptional(t);
  if (!route) throw ApplicationFailure.nonRetryable(notFound(t), 'RouteNotFound');
  return route;
}

/** The managed rule's weights as percentages, checking that both backends are in it. */
function weightsOf(route: HTTPRoute, t: TrafficTarget): RouteWeights {
  const cfg = configOf(t);
  const rule = ruleOf(route, cfg, namespacesOf(t));
  if (!rule) throw ApplicationFailure.nonRetryable(noRule(route, cfg, namespacesOf(t)), 'RouteNotFound');
  const { stable, canary } = backendsOf(rule, cfg, nameOf(t), namespacesOf(t));
  return percentages(stable, canary, nameOf(t));
}

/**
 * Read, change, replace with the read resourceVersion; a conflict (someone else wrote in between)
 * is retried on a fresh read. `changed` says whether a write happened (false: already as wanted).
 */
async function update(t: TrafficTarget, change: (route: HTTPRoute) => void): Promise<boolean> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const route = await read(t);
    weightsOf(route, t); // the rule and both backends exist, or a clear error
    const before = canonical(route.spec);
    change(route);
    if (canonical(route.spec) === before) return false; // nothing to do: no write at all
    try {
      await kube(t).custom.replaceNamespacedCustomObject({ ...GROUP, namespace: namespacesOf(t).route, name: route.metadata.name, body: route });
      return true;
    } catch (err) {
      if (statusOf(err) === 409) continue;
      if (statusOf(err) === 404) throw ApplicationFailure.nonRetryable(notFound(t), 'RouteNotFound');
      throw kubeFailure(`updating ${nameOf(t)}`, err);
    }
  }
  throw ApplicationFailure.retryable(`${nameOf(t)} kept changing under us (${ATTEMPTS} conflicting writes)`, 'Conflict');
}

export class GatewayApiRouter implements TrafficRouter {
  async getWeights(t: TrafficTarget): Promise<RouteWeights> {
    return weightsOf(await read(t), t);
  }

  async setWeights(t: TrafficTarget, w: RouteWeights): Promise<RouteWeights> {
    return (await this.writeWeights(t, w)).weights;
  }

  async restoreWeights(t: TrafficTarget, w: RouteWeights): Promise<UndoResult> {
    const written = await this.unlessGone(t, () => this.writeWeights(t, w));
    if ('skipped' in written) return { result: 'skipped', detail: written.skipped };
    const { weights, changed } = written;
    return changed
      ? { result: 'undone', detail: `${nameOf(t)} set back to ${weights.stable}/${weights.canary}`, weights }
      : { result: 'unchanged', detail: `${nameOf(t)} already at ${weights.stable}/${weights.canary}`, weights };
  }

  /** Gateway API has no fault injection; removing "no fault" (null) is nothing to do. */
  async setFault(t: TrafficTarget, fault: FaultSpec | null): Promise<void> {
    if (fault === null) return;
    throw ApplicationFailure.nonRetryable(`${nameOf(t)}: Gateway API has no fault injection; fault steps need canary.router.istio`, 'FaultNotSupported');
  }

  /** Nothing to remove (Shipyard never sets a fault on an HTTPRoute): unchanged, or skipped when the route is gone. */
  async clearFault(t: TrafficTarget): Promise<UndoResult> {
    const found = await this.unlessGone(t, async () => weightsOf(await read(t), t));
    if ('skipped' in found) return { result: 'skipped', detail: found.skipped };
    return { result: 'unchanged', detail: `${nameOf(t)}: Gateway API has no fault injection, there is no fault to remove`, weights: found };
  }

  /** Runs an undo; when the HTTPRoute or its managed rule no longer exists, the undo is skipped and says which. */
  private async unlessGone<T>(t: TrafficTarget, work: () => Promise<T>): Promise<T | { skipped: string }> {
    try {
      return await work();
    } catch (err) {
      if ((err as ApplicationFailure).type !== 'RouteNotFound') throw err;
      const route = await readOptional(t);
      if (!route) return { skipped: notFound(t) };
      const cfg = configOf(t);
      if (!ruleOf(route, cfg, namespacesOf(t))) return { skipped: noRule(route, cfg, namespacesOf(t)) };
      throw err;
    }
  }

  private async writeWeights(t: TrafficTarget, w: RouteWeights): Promise<{ weights: RouteWeights; changed: boolean }> {
    const changed = await update(t, (route) => applyWanted(route, configOf(t), w, nameOf(t), namespacesOf(t)));
    // Read back from the API server, not the write's response: what is reported is what is there now.
    const applied = weightsOf(await read(t), t);
    if (applied.stable !== w.stable || applied.canary !== w.canary) {
      throw ApplicationFailure.retryable(`${nameOf(t)} reads back ${applied.stable}/${applied.canary}, wanted ${w.stable}/${w.canary}`, 'WeightsNotApplied');
    }
    return { weights: applied, changed };
  }
}
