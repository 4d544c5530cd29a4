// What workflow code needs to know of a canary router, without zod (bundled into workflows): the
// object it shifts, as saga descriptions name it, and its namespace.
import type { RouterSpec } from './router-schema.js';

/**
 * The routed object in saga descriptions: the VirtualService's bare name (as it always was: those
 * descriptions are recorded in histories) or `HTTPRoute <name>`.
 */
export function routeObjectOf(router: RouterSpec): string {
  if (router.istio) return router.istio.virtualService;
  return `HTTPRoute ${router.gatewayApi?.httpRoute ?? '(no router)'}`;
}

/** The router's own namespace setting, when it has one. */
export function routerNamespaceOf(router: RouterSpec): string | undefined {
  return router.istio ? router.istio.namespace : router.gatewayApi?.namespace;
}
