// The pure part of the Gateway API router: which rule of an HTTPRoute is managed, its stable/canary
// weights as percentages, and the rule changes (weights, header A/B rule, RequestMirror filter).
// Objects are compared with the API server's defaults filled in (backendRef group '' and kind
// Service, weight 1, match path PathPrefix /, header match type Exact), so a route already as wanted
// is not written again.
import { ApplicationFailure } from '@temporalio/common';
import type { RouteWeights } from '../types.js';
import type { RouterSpec } from '../../spec/schema.js';

export type GatewayApiConfig = NonNullable<RouterSpec['gatewayApi']>;
type Backend = GatewayApiConfig['stableBackend'];

/** Rules Shipyard adds for header-based routing to a canary (A/B testing) start with this. */
export const HEADER_RULE = 'shipyard-canary-header';
/** This service's header rule: one per canary backend, so services sharing an HTTPRoute keep theirs. */
export const headerRuleOf = (cfg: GatewayApiConfig) => `${HEADER_RULE}-${cfg.canaryBackend.name}`;
const isHeaderRule = (r: Rule) => r.name === HEADER_RULE || !!r.name?.startsWith(`${HEADER_RULE}-`);

/**
 * Where things are: the HTTPRoute's namespace, and the backends' (the Services next to the
 * workloads). A backendRef without a namespace points into the route's namespace; one into another
 * namespace needs a ReferenceGrant there (the user's, as Gateway API requires).
 */
export interface Namespaces {
  route: string;
  backends: string;
}

export interface BackendRef {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
  port?: number;
  weight?: number;
  [k: string]: unknown;
}

export interface Filter {
  type: string;
  requestMirror?: { backendRef: BackendRef; percent?: number; fraction?: unknown };
  [k: string]: unknown;
}

export interface Match {
  path?: { type?: string; value?: string };
  headers?: { type?: string; name: string; value: string }[];
  [k: string]: unknown;
}

export interface Rule {
  name?: string;
  matches?: Match[];
  filters?: Filter[];
  backendRefs?: BackendRef[];
  [k: string]: unknown;
}

export interface HTTPRoute {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  spec: { rules?: Rule[]; [k: string]: unknown };
}

/** A backendRef names the Service of a backend (in the backends' namespace; the port when the backend has one). */
export function isBackend(ref: BackendRef, backend: Backend, ns: Namespaces): boolean {
  return (
    ref.name === backend.name &&
    (ref.group ?? '') === '' &&
    (ref.kind ?? 'Service') === 'Service' &&
    (ref.namespace ?? ns.route) === ns.backends &&
    (backend.port === undefined || ref.port === backend.port)
  );
}

const label = (b: Backend) => (b.port === undefined ? b.name : `${b.name}:${b.port}`);
const refLabel = (r: BackendRef) => (r.port === undefined ? r.name : `${r.name}:${r.port}`);

/**
 * The managed rule: the named one; else the one rule with backendRefs to both backends (several:
 * `rule` must say which, shifting one of them would leave the others' traffic where it was); else
 * the first with the stable backend (backendsOf then says the canary is missing).
 */
export function ruleOf(route: HTTPRoute, cfg: GatewayApiConfig, ns: Namespaces): Rule | undefined {
  const rules = (route.spec.rules ?? []).filter((r) => !isHeaderRule(r));
  if (cfg.rule) return rules.find((r) => r.name === cfg.rule);
  const names = (r: Rule, b: Backend) => (r.backendRefs ?? []).some((ref) => isBackend(ref, b, ns));
  const withStable = rules.filter((r) => names(r, cfg.stableBackend));
  const withBoth = withStable.filter((r) => names(r, cfg.canaryBackend));
  if (withBoth.length > 1) {
    const which = withBoth.map((r) => (r.name ? `'${r.name}'` : `#${rules.indexOf(r)} (unnamed)`)).join(', ');
    throw ApplicationFailure.nonRetryable(
      `HTTPRoute ${route.metadata.namespace ?? ns.route}/${route.metadata.name}: ${withBoth.length} rules list both ${label(cfg.stableBackend)} and ${label(cfg.canaryBackend)} (${which}); name the one to shift with canary.router.gatewayApi.rule`,
      'AmbiguousRule',
    );
  }
  return withBoth[0] ?? withStable[0];
}

export function noRule(route: HTTPRoute, cfg: GatewayApiConfig, ns: Namespaces): string {
  const where = `HTTPRoute ${route.metadata.namespace ?? ns.route}/${route.metadata.name}`;
  return cfg.rule ? `${where} has no rule named ${cfg.rule}` : `${where} has no rule with a backendRef to the stable backend ${label(cfg.stableBackend)}`;
}

const weightOf = (ref: BackendRef) => ref.weight ?? 1; // Gateway API's default

/**
 * The stable and canary backendRefs of the rule. Both must be there (Shipyard shifts weights
 * between them, it does not add Services to a user's route), and no other backend may take traffic.
 */
export function backendsOf(rule: Rule, cfg: GatewayApiConfig, where: string, ns: Namespaces): { stable: BackendRef; canary: BackendRef } {
  const refs = rule.backendRefs ?? [];
  const stable = refs.find((r) => isBackend(r, cfg.stableBackend, ns));
  const canary = refs.find((r) => isBackend(r, cfg.canaryBackend, ns));
  const has = refs.map(refLabel).join(', ') || 'none';
  for (const [track, ref, backend] of [['stable', stable, cfg.stableBackend], ['canary', canary, cfg.canaryBackend]] as const) {
    if (!ref) {
      throw ApplicationFailure.nonRetryable(`${where}: the rule has no backendRef to the ${track} backend ${label(backend)} (it has ${has}); list both backends in the rule, the canary with weight 0`, 'BackendNotFound');
    }
  }
  const others = refs.filter((r) => r !== stable && r !== canary && weightOf(r) > 0);
  if (others.length) {
    throw ApplicationFailure.nonRetryable(`${where}: the rule sends traffic to backends other than ${label(cfg.stableBackend)}/${label(cfg.canaryBackend)} (${others.map(refLabel).join(', ')})`, 'RouteNotManaged');
  }
  return { stable: stable!, canary: canary! };
}

/**
 * Gateway API weights are proportions: reported as percentages of the two, summing to 100. Only an
 * exact 0 reads as 0 (999:1 is 99/1, not 100/0: some traffic still reaches the canary).
 */
export function percentages(stable: BackendRef, canary: BackendRef, where: string): RouteWeights {
  const s = weightOf(stable);
  const c = weightOf(canary);
  if (s + c === 0) throw ApplicationFailure.nonRetryable(`${where}: both backends have weight 0 (the rule sends no traffic)`, 'RouteNotManaged');
  const pct = Math.min(s > 0 ? 99 : 100, Math.max(c > 0 ? 1 : 0, Math.round((100 * c) / (s + c))));
  return { stable: 100 - pct, canary: pct };
}

/** JSON with sorted keys: the API server returns objects with keys in its own order. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v));
}

/** The canary backendRef as Shipyard writes it (defaults explicit, as the API server stores them). */
function canaryRef(cfg: GatewayApiConfig, stable: BackendRef, weight?: number): BackendRef {
  const port = cfg.canaryBackend.port ?? stable.port;
  // Written with the stable ref's namespace, so it points where the stable one does.
  const namespace = stable.namespace !== undefined ? { namespace: stable.namespace } : {};
  return { group: '', kind: 'Service', name: cfg.canaryBackend.name, ...namespace, ...(port !== undefined ? { port } : {}), ...(weight !== undefined ? { weight } : {}) };
}

const isOurMirror = (f: Filter, cfg: GatewayApiConfig, ns: Namespaces) => f.type === 'RequestMirror' && !!f.requestMirror && isBackend(f.requestMirror.backendRef, cfg.canaryBackend, ns);

/**
 * Changes the route in place to the wanted weights (and header rule and mirror for them). The
 * backendRefs' weights are only rewritten when their percentages differ from the wanted ones, so a
 * route at 900/100 stays so when 90/10 is wanted.
 */
export function applyWanted(route: HTTPRoute, cfg: GatewayApiConfig, w: RouteWeights, where: string, ns: Namespaces): void {
  const rule = ruleOf(route, cfg, ns)!;
  const { stable, canary } = backendsOf(rule, cfg, where, ns);
  const now = percentages(stable, canary, where);
  if (now.stable !== w.stable || now.canary !== w.canary) {
    stable.weight = w.stable;
    canary.weight = w.canary;
  }
  if (cfg.mirror) {
    const filters = (rule.filters ?? []).filter((f) => !isOurMirror(f, cfg, ns));
    if (w.canary > 0 && w.canary < 100) {
      const existing = (rule.filters ?? []).find((f) => isOurMirror(f, cfg, ns));
      const wanted: Filter = { type: 'RequestMirror', requestMirror: { backendRef: canaryRef(cfg, stable), percent: cfg.mirror.percent } };
      filters.push(existing && canonical(existing) === canonical(wanted) ? existing : wanted);
    }
    if (filters.length) rule.filters = filters;
    else delete rule.filters;
  }
  if (cfg.headerRoute) {
    const own = headerRuleOf(cfg);
    const rules = (route.spec.rules ?? []).filter((r) => r.name !== own);
    if (w.canary > 0) {
      // The header rule matches what the managed rule matches, plus the header: the more specific
      // match wins (Gateway API precedence), only for the managed rule's requests. It keeps the
      // managed rule's filters (rewrites, header changes) and timeouts, so those requests are
      // handled as the others, only by the canary; not its mirror to the canary.
      const header = { type: 'Exact', name: cfg.headerRoute.header, value: cfg.headerRoute.value };
      const matches = (rule.matches?.length ? rule.matches : [{ path: { type: 'PathPrefix', value: '/' } }]).map((m) => ({ ...m, headers: [...(m.headers ?? []).filter((h) => h.name !== header.name), header] }));
      const { name: _name, matches: _matches, backendRefs: _refs, filters: ruleFilters, ...rest } = rule;
      const filters = (ruleFilters ?? []).filter((f) => !isOurMirror(f, cfg, ns));
      const wanted: Rule = { ...rest, name: own, matches, ...(filters.length ? { filters } : {}), backendRefs: [canaryRef(cfg, stable, 1)] };
      const existing = (route.spec.rules ?? []).find((r) => r.name === own);
      rules.unshift(existing && canonical(existing) === canonical(wanted) ? existing : wanted);
    }
    route.spec.rules = rules;
  }
}
