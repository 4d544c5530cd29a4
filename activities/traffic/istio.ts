// Istio traffic routing: the stable/canary weights of one HTTP route of a VirtualService (subsets
// from a DestinationRule), optional header-based routing of matching requests to the canary (A/B),
// optional mirroring, and fault injection on the canary route. Writes are read-modify-replace with
// the resourceVersion (a concurrent edit is retried, not overwritten); the applied weights are read
// back and verified; setting the weights already there changes nothing.
import { ApplicationFailure } from '@temporalio/common';
import { kube, kubeFailure, statusOf } from '../kube.js';
import type { RouteWeights } from '../types.js';
import type { TrafficRouter, TrafficTarget, FaultSpec } from './router.js';

const GROUP = { group: 'networking.istio.io', version: 'v1' };
const HEADER_ROUTE = 'shipyard-canary-header';

interface Destination {
  destination: { host: string; subset?: string; port?: unknown };
  weight?: number;
}

interface HttpRoute {
  name?: string;
  match?: unknown[];
  route?: Destination[];
  mirror?: { host: string; subset?: string };
  mirrorPercentage?: { value: number };
  fault?: unknown;
  [k: string]: unknown;
}

interface VirtualService {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: { hosts?: string[]; http?: HttpRoute[]; [k: string]: unknown };
}

async function read(t: TrafficTarget): Promise<VirtualService> {
  try {
    return (await kube(t.kubeContext).custom.getNamespacedCustomObject({ ...GROUP, namespace: t.namespace, plural: 'virtualservices', name: t.router.istio.virtualService })) as VirtualService;
  } catch (err) {
    if (statusOf(err) === 404) throw ApplicationFailure.nonRetryable(`VirtualService ${t.namespace}/${t.router.istio.virtualService} not found`, 'RouteNotFound');
    throw kubeFailure(`reading VirtualService ${t.router.istio.virtualService}`, err);
  }
}

/** The route Shipyard shifts: the named one, else the first route with a stable destination. */
function findRoute(vs: VirtualService, t: TrafficTarget): HttpRoute {
  const { route, stableSubset } = t.router.istio;
  const routes = (vs.spec.http ?? []).filter((r) => r.name !== HEADER_ROUTE);
  const found = route ? routes.find((r) => r.name === route) : routes.find((r) => (r.route ?? []).some((d) => d.destination.subset === stableSubset)) ?? routes[0];
  if (!found) throw ApplicationFailure.nonRetryable(`VirtualService ${vs.metadata.name} has no HTTP route${route ? ` named ${route}` : ''}`, 'RouteNotFound');
  return found;
}

function weightsOf(route: HttpRoute, t: TrafficTarget): RouteWeights {
  const { stableSubset, canarySubset } = t.router.istio;
  const destinations = route.route ?? [];
  const weight = (subset: string) => {
    const d = destinations.find((x) => x.destination.subset === subset);
    if (!d) return 0;
    return d.weight ?? (destinations.length === 1 ? 100 : 0);
  };
  return { stable: weight(stableSubset), canary: weight(canarySubset) };
}

function hostOf(vs: VirtualService, route: HttpRoute, t: TrafficTarget): string {
  return t.router.istio.host ?? route.route?.[0]?.destination.host ?? vs.spec.hosts?.[0] ?? t.router.istio.virtualService;
}

/** Sets the two destinations' weights on the route (adding the canary destination if missing). */
function applyWeights(vs: VirtualService, route: HttpRoute, t: TrafficTarget, w: RouteWeights): void {
  const { stableSubset, canarySubset } = t.router.istio;
  const host = hostOf(vs, route, t);
  const others = (route.route ?? []).filter((d) => d.destination.subset !== stableSubset && d.destination.subset !== canarySubset);
  if (others.some((d) => (d.weight ?? 0) > 0)) {
    throw ApplicationFailure.nonRetryable(`route of ${vs.metadata.name} sends traffic to destinations other than ${stableSubset}/${canarySubset}`, 'RouteNotManaged');
  }
  const existing = (subset: string) => route.route?.find((d) => d.destination.subset === subset)?.destination;
  route.route = [
    { destination: existing(stableSubset) ?? { host, subset: stableSubset }, weight: w.stable },
    { destination: existing(canarySubset) ?? { host, subset: canarySubset }, weight: w.canary },
  ];
}

/** Read, change, replace with the read resourceVersion; a conflict (someone else wrote) is retried. */
async function update(t: TrafficTarget, change: (vs: VirtualService) => boolean): Promise<VirtualService> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const vs = await read(t);
    if (!change(vs)) return vs; // nothing to do: no write at all
    try {
      return (await kube(t.kubeContext).custom.replaceNamespacedCustomObject({ ...GROUP, namespace: t.namespace, plural: 'virtualservices', name: vs.metadata.name, body: vs })) as VirtualService;
    } catch (err) {
      if (statusOf(err) === 409) continue;
      throw kubeFailure(`updating VirtualService ${vs.metadata.name}`, err);
    }
  }
  throw ApplicationFailure.retryable(`VirtualService ${t.router.istio.virtualService} kept changing under us`, 'Conflict');
}

async function checkSubsets(t: TrafficTarget, host: string): Promise<void> {
  const { stableSubset, canarySubset, destinationRule } = t.router.istio;
  const k = kube(t.kubeContext);
  let rules: { metadata?: { name?: string }; spec?: { host?: string; subsets?: { name: string }[] } }[];
  try {
    if (destinationRule) rules = [(await k.custom.getNamespacedCustomObject({ ...GROUP, namespace: t.namespace, plural: 'destinationrules', name: destinationRule })) as never];
    else rules = ((await k.custom.listNamespacedCustomObject({ ...GROUP, namespace: t.namespace, plural: 'destinationrules' })) as { items: never[] }).items;
  } catch (err) {
    if (statusOf(err) === 404) throw ApplicationFailure.nonRetryable(`DestinationRule ${destinationRule} not found in ${t.namespace}`, 'RouteNotFound');
    throw kubeFailure('reading DestinationRules', err);
  }
  const short = host.split('.')[0];
  const rule = rules.find((r) => r.spec?.host === host || r.spec?.host?.split('.')[0] === short);
  if (!rule) throw ApplicationFailure.nonRetryable(`no DestinationRule for host ${host} in ${t.namespace} defines the subsets ${stableSubset}/${canarySubset}`, 'RouteNotFound');
  const names = (rule.spec?.subsets ?? []).map((s) => s.name);
  for (const subset of [stableSubset, canarySubset]) {
    if (!names.includes(subset)) throw ApplicationFailure.nonRetryable(`DestinationRule ${rule.metadata?.name} has no subset '${subset}' (has ${names.join(', ') || 'none'})`, 'RouteNotFound');
  }
}

export class IstioRouter implements TrafficRouter {
  async getWeights(t: TrafficTarget): Promise<RouteWeights> {
    const vs = await read(t);
    const route = findRoute(vs, t);
    await checkSubsets(t, hostOf(vs, route, t));
    return weightsOf(route, t);
  }

  async setWeights(t: TrafficTarget, w: RouteWeights): Promise<RouteWeights> {
    const { headerRoute, mirror } = t.router.istio;
    const vs = await update(t, (vs) => {
      const route = findRoute(vs, t);
      const before = JSON.stringify(vs.spec);
      applyWeights(vs, route, t, w);
      const host = hostOf(vs, route, t);
      const canary = { host, subset: t.router.istio.canarySubset };
      if (mirror) {
        if (w.canary > 0 && w.canary < 100) {
          route.mirror = canary;
          route.mirrorPercentage = { value: mirror.percent };
        } else {
          delete route.mirror;
          delete route.mirrorPercentage;
        }
      }
      if (headerRoute) {
        // Requests carrying the header go to the canary whenever it takes traffic (A/B testing).
        const http = (vs.spec.http ?? []).filter((r) => r.name !== HEADER_ROUTE);
        if (w.canary > 0) {
          http.unshift({ name: HEADER_ROUTE, match: [{ headers: { [headerRoute.header]: { exact: headerRoute.value } } }], route: [{ destination: canary, weight: 100 }] });
        }
        vs.spec.http = http;
      }
      return JSON.stringify(vs.spec) !== before;
    });
    const applied = weightsOf(findRoute(vs, t), t);
    if (applied.stable !== w.stable || applied.canary !== w.canary) {
      throw ApplicationFailure.retryable(`VirtualService ${vs.metadata.name} reads back ${applied.stable}/${applied.canary}, wanted ${w.stable}/${w.canary}`, 'WeightsNotApplied');
    }
    return applied;
  }

  async setFault(t: TrafficTarget, fault: FaultSpec | null): Promise<void> {
    await update(t, (vs) => {
      const route = findRoute(vs, t);
      const before = JSON.stringify(route.fault ?? null);
      const next = fault ? toIstioFault(fault) : undefined;
      if (next) route.fault = next;
      else delete route.fault;
      return JSON.stringify(route.fault ?? null) !== before;
    });
  }
}

function toIstioFault(f: FaultSpec) {
  const fault: Record<string, unknown> = {};
  if (f.delay) fault.delay = { fixedDelay: f.delay.fixedDelay, percentage: { value: f.delay.percent } };
  if (f.abort) fault.abort = { httpStatus: f.abort.httpStatus, percentage: { value: f.abort.percent } };
  return fault;
}
