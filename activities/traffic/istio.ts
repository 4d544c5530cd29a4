// Istio traffic routing: the stable/canary weights of one HTTP route of a VirtualService (subsets
// from a DestinationRule), optional header-based routing of matching requests to the canary (A/B),
// optional mirroring, and fault injection on the canary route. Writes are read-modify-replace with
// the resourceVersion (a concurrent edit is retried, not overwritten); the applied weights are read
// back and verified; setting the weights already there changes nothing. In host mode (generated
// canary plumbing, `hosts` set) the two destinations are two Services, stable and canary, not two
// subsets of one host; at canary weight 0 the canary destination is dropped from the route, so the
// route never names a Service that a compensation may remove.
import { ApplicationFailure } from '@temporalio/common';
import { kube, kubeFailure, statusOf } from '../kube.js';
import type { RouteWeights, UndoResult } from '../types.js';
import type { TrafficRouter, TrafficTarget, FaultSpec } from './router.js';

const GROUP = { group: 'networking.istio.io', version: 'v1' };
const HEADER_ROUTE = 'shipyard-canary-header';

/** The Istio settings of the target's router (routerFor picks this router only when they are set). */
function istioOf(t: TrafficTarget) {
  if (!t.router.istio) throw ApplicationFailure.nonRetryable('the Istio router needs canary.router.istio', 'InvalidSpec');
  return t.router.istio;
}

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

/** The VirtualService, or null when it does not exist. */
async function readOptional(t: TrafficTarget): Promise<VirtualService | null> {
  try {
    return (await kube(t).custom.getNamespacedCustomObject({ ...GROUP, namespace: t.namespace, plural: 'virtualservices', name: istioOf(t).virtualService })) as VirtualService;
  } catch (err) {
    if (statusOf(err) === 404) return null;
    throw kubeFailure(`reading VirtualService ${istioOf(t).virtualService}`, err);
  }
}

const notFound = (t: TrafficTarget) => `VirtualService ${t.namespace}/${istioOf(t).virtualService} not found`;

async function read(t: TrafficTarget): Promise<VirtualService> {
  const vs = await readOptional(t);
  if (!vs) throw ApplicationFailure.nonRetryable(notFound(t), 'RouteNotFound');
  return vs;
}

/** A destination host names the Service (short name, or qualified with the target's namespace). */
function sameHost(host: string | undefined, service: string, namespace: string): boolean {
  if (!host) return false;
  const [name, ns] = host.split('.');
  return name === service && (ns === undefined || ns === namespace);
}

/** Whether a destination is the stable or canary one: by subset, or in host mode by Service. */
function isTrack(d: Destination, t: TrafficTarget, track: 'stable' | 'canary'): boolean {
  if (t.hosts) return sameHost(d.destination.host, t.hosts[track], t.namespace);
  return d.destination.subset === (track === 'stable' ? istioOf(t).stableSubset : istioOf(t).canarySubset);
}

/** The route Shipyard shifts: the named one, else the first route with a stable destination. */
function routeOf(vs: VirtualService, t: TrafficTarget): HttpRoute | undefined {
  const { route } = istioOf(t);
  const routes = (vs.spec.http ?? []).filter((r) => r.name !== HEADER_ROUTE);
  return route ? routes.find((r) => r.name === route) : routes.find((r) => (r.route ?? []).some((d) => isTrack(d, t, 'stable'))) ?? routes[0];
}

const noRoute = (vs: VirtualService, t: TrafficTarget) => `VirtualService ${vs.metadata.namespace ?? t.namespace}/${vs.metadata.name} has no HTTP route${istioOf(t).route ? ` named ${istioOf(t).route}` : ''}`;

function findRoute(vs: VirtualService, t: TrafficTarget): HttpRoute {
  const found = routeOf(vs, t);
  if (!found) throw ApplicationFailure.nonRetryable(noRoute(vs, t), 'RouteNotFound');
  return found;
}

function weightsOf(route: HttpRoute, t: TrafficTarget): RouteWeights {
  const destinations = route.route ?? [];
  const weight = (track: 'stable' | 'canary') => {
    const d = destinations.find((x) => isTrack(x, t, track));
    if (!d) return 0;
    return d.weight ?? (destinations.length === 1 ? 100 : 0);
  };
  return { stable: weight('stable'), canary: weight('canary') };
}

function hostOf(vs: VirtualService, route: HttpRoute, t: TrafficTarget): string {
  return istioOf(t).host ?? route.route?.[0]?.destination.host ?? vs.spec.hosts?.[0] ?? istioOf(t).virtualService;
}

/** Sets the two destinations' weights on the route (adding the canary destination if missing). */
function applyWeights(vs: VirtualService, route: HttpRoute, t: TrafficTarget, w: RouteWeights): void {
  const { stableSubset, canarySubset } = istioOf(t);
  const host = hostOf(vs, route, t);
  const others = (route.route ?? []).filter((d) => !isTrack(d, t, 'stable') && !isTrack(d, t, 'canary'));
  if (others.some((d) => (d.weight ?? 0) > 0)) {
    const names = t.hosts ? `the Services ${t.hosts.stable}/${t.hosts.canary}` : `${stableSubset}/${canarySubset}`;
    throw ApplicationFailure.nonRetryable(`route of ${vs.metadata.name} sends traffic to destinations other than ${names}`, 'RouteNotManaged');
  }
  const existing = (track: 'stable' | 'canary') => route.route?.find((d) => isTrack(d, t, track))?.destination;
  if (t.hosts) {
    const stable = { destination: existing('stable') ?? { host: t.hosts.stable }, weight: w.stable };
    route.route = w.canary > 0 ? [stable, { destination: existing('canary') ?? { host: t.hosts.canary }, weight: w.canary }] : [stable];
    return;
  }
  route.route = [
    { destination: existing('stable') ?? { host, subset: stableSubset }, weight: w.stable },
    { destination: existing('canary') ?? { host, subset: canarySubset }, weight: w.canary },
  ];
}

/**
 * Read, change, replace with the read resourceVersion; a conflict (someone else wrote) is retried.
 * `changed` says whether a write happened (false: the VirtualService already was as wanted).
 */
async function update(t: TrafficTarget, change: (vs: VirtualService) => boolean): Promise<{ vs: VirtualService; changed: boolean }> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const vs = await read(t);
    if (!change(vs)) return { vs, changed: false }; // nothing to do: no write at all
    try {
      return { vs: (await kube(t).custom.replaceNamespacedCustomObject({ ...GROUP, namespace: t.namespace, plural: 'virtualservices', name: vs.metadata.name, body: vs })) as VirtualService, changed: true };
    } catch (err) {
      if (statusOf(err) === 409) continue;
      if (statusOf(err) === 404) throw ApplicationFailure.nonRetryable(notFound(t), 'RouteNotFound');
      throw kubeFailure(`updating VirtualService ${vs.metadata.name}`, err);
    }
  }
  throw ApplicationFailure.retryable(`VirtualService ${istioOf(t).virtualService} kept changing under us`, 'Conflict');
}

async function checkSubsets(t: TrafficTarget, host: string): Promise<void> {
  const { stableSubset, canarySubset, destinationRule } = istioOf(t);
  const k = kube(t);
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
    // Host mode has no subsets: the canary Service selects the canary pods (generated with it).
    if (!t.hosts) await checkSubsets(t, hostOf(vs, route, t));
    return weightsOf(route, t);
  }

  async setWeights(t: TrafficTarget, w: RouteWeights): Promise<RouteWeights> {
    return (await this.writeWeights(t, w)).weights;
  }

  async restoreWeights(t: TrafficTarget, w: RouteWeights): Promise<UndoResult> {
    const written = await this.unlessGone(t, () => this.writeWeights(t, w));
    if ('skipped' in written) return { result: 'skipped', detail: written.skipped };
    const { changed } = written;
    // Read back from the API server, not the write's response: what is reported is what is there now.
    const vs = await read(t);
    const weights = weightsOf(findRoute(vs, t), t);
    const name = `VirtualService ${t.namespace}/${vs.metadata.name}`;
    return changed
      ? { result: 'undone', detail: `${name} set back to ${weights.stable}/${weights.canary}`, weights }
      : { result: 'unchanged', detail: `${name} already at ${weights.stable}/${weights.canary}`, weights };
  }

  async setFault(t: TrafficTarget, fault: FaultSpec | null): Promise<void> {
    await this.writeFault(t, fault);
  }

  async clearFault(t: TrafficTarget): Promise<UndoResult> {
    const written = await this.unlessGone(t, () => this.writeFault(t, null));
    if ('skipped' in written) return { result: 'skipped', detail: written.skipped };
    const { changed } = written;
    const vs = await read(t);
    const route = findRoute(vs, t);
    const name = `VirtualService ${t.namespace}/${vs.metadata.name}`;
    if (route.fault !== undefined) throw ApplicationFailure.retryable(`${name} still has a fault on its route after removing it`, 'FaultNotRemoved');
    const weights = weightsOf(route, t);
    return changed ? { result: 'undone', detail: `${name}: fault removed from the route`, weights } : { result: 'unchanged', detail: `${name}: the route has no fault`, weights };
  }

  /**
   * Runs an undo's write; when it fails because the VirtualService or its managed route no longer
   * exists, the undo is skipped and the detail says which target is gone.
   */
  private async unlessGone<T>(t: TrafficTarget, write: () => Promise<T>): Promise<T | { skipped: string }> {
    try {
      return await write();
    } catch (err) {
      if ((err as ApplicationFailure).type !== 'RouteNotFound') throw err;
      const vs = await readOptional(t);
      if (!vs) return { skipped: notFound(t) };
      if (!routeOf(vs, t)) return { skipped: noRoute(vs, t) };
      throw err;
    }
  }

  private async writeWeights(t: TrafficTarget, w: RouteWeights): Promise<{ weights: RouteWeights; changed: boolean }> {
    const { headerRoute, mirror } = istioOf(t);
    const { vs, changed } = await update(t, (vs) => {
      const route = findRoute(vs, t);
      const before = JSON.stringify(vs.spec);
      applyWeights(vs, route, t, w);
      const host = hostOf(vs, route, t);
      const canary = t.hosts ? { host: t.hosts.canary } : { host, subset: istioOf(t).canarySubset };
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
    return { weights: applied, changed };
  }

  private async writeFault(t: TrafficTarget, fault: FaultSpec | null): Promise<{ changed: boolean }> {
    const { changed } = await update(t, (vs) => {
      const route = findRoute(vs, t);
      const before = JSON.stringify(route.fault ?? null);
      const next = fault ? toIstioFault(fault) : undefined;
      if (next) route.fault = next;
      else delete route.fault;
      return JSON.stringify(route.fault ?? null) !== before;
    });
    return { changed };
  }
}

function toIstioFault(f: FaultSpec) {
  const fault: Record<string, unknown> = {};
  if (f.delay) fault.delay = { fixedDelay: f.delay.fixedDelay, percentage: { value: f.delay.percent } };
  if (f.abort) fault.abort = { httpStatus: f.abort.httpStatus, percentage: { value: f.abort.percent } };
  return fault;
}
