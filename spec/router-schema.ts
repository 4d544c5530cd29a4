// Traffic routers of a canary: which mesh or ingress object Shipyard shifts weights on. Exactly one
// of them per canary: an Istio VirtualService or a Gateway API HTTPRoute.
import { z } from 'zod';
import { dnsLabel } from './fields.js';

const headerRoute = z
  .strictObject({ header: z.string().min(1), value: z.string().min(1) })
  .optional()
  .describe('Requests with this header go to the canary while it takes traffic (A/B testing)');

const IstioRouterSchema = z.strictObject({
  virtualService: dnsLabel,
  namespace: dnsLabel.optional().describe("Defaults to the deploy's namespace"),
  route: z.string().optional().describe('Name of the HTTP route to shift; the first route when unset'),
  host: z.string().optional().describe('Destination host; the VirtualService host when unset'),
  stableSubset: z.string().default('stable'),
  canarySubset: z.string().default('canary'),
  destinationRule: dnsLabel.optional().describe('DestinationRule defining the subsets; found by host when unset'),
  headerRoute,
  mirror: z
    .strictObject({ percent: z.number().min(0).max(100) })
    .optional()
    .describe('Mirror this share of stable traffic to the canary during the canary'),
});

const dnsSubdomain = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'must be lowercase letters, digits, dashes and dots (a DNS subdomain)');

const BackendSchema = z.strictObject({
  name: dnsLabel.describe('The Service'),
  port: z.number().int().min(1).max(65535).optional().describe("The Service port; the stable backendRef's port when unset"),
});

// Gateway API standard channel as pinned in scripts/tools.js (v1.4.1): rules have names and
// RequestMirror has `percent`, so the rule is chosen by name and the mirror share is a percent.
const GatewayApiRouterSchema = z.strictObject({
  httpRoute: dnsSubdomain.describe('The HTTPRoute (gateway.networking.k8s.io/v1) whose rule is shifted'),
  namespace: dnsLabel.optional().describe("Defaults to the deploy's namespace"),
  rule: dnsSubdomain.optional().describe('Name of the rule to shift; the first rule with a backendRef to the stable backend when unset'),
  stableBackend: BackendSchema,
  canaryBackend: BackendSchema,
  headerRoute,
  mirror: z
    .strictObject({ percent: z.number().int().min(0).max(100) })
    .optional()
    .describe('A RequestMirror filter sends this share of the rule\'s traffic to the canary during the canary'),
});

export const RouterSchema = z
  .strictObject({
    istio: IstioRouterSchema.optional(),
    gatewayApi: GatewayApiRouterSchema.optional().describe('A Gateway API HTTPRoute (standard channel); no fault injection, no canary.generate'),
  })
  .superRefine((router, ctx) => {
    const set = (['istio', 'gatewayApi'] as const).filter((k) => router[k] !== undefined);
    if (set.length !== 1) {
      ctx.addIssue({ code: 'custom', path: [], message: `a canary router has exactly one of istio, gatewayApi (found ${set.length ? set.join(', ') : 'none'})` });
    }
    const api = router.gatewayApi;
    if (api && api.stableBackend.name === api.canaryBackend.name && api.stableBackend.port === api.canaryBackend.port) {
      ctx.addIssue({ code: 'custom', path: ['gatewayApi', 'canaryBackend'], message: 'the canary backend must differ from the stable backend' });
    }
  });
export type RouterSpec = z.output<typeof RouterSchema>;

/** What only the Istio router can do: a generated canary (VirtualService host mode) and fault steps. */
export function checkRouterFeatures(canary: { router: RouterSpec; generate?: boolean; steps: object[] }, base: PropertyKey[], ctx: z.RefinementCtx): void {
  if (canary.router.istio) return;
  const which = canary.router.gatewayApi ? 'canary.router.gatewayApi' : 'this router';
  if (canary.generate) {
    ctx.addIssue({ code: 'custom', path: [...base, 'generate'], message: `canary.generate requires canary.router.istio (it generates a VirtualService); with ${which}, keep the canary Deployment and Service yourself and use canary.workloads` });
  }
  canary.steps.forEach((step, i) => {
    if ('fault' in step) {
      ctx.addIssue({ code: 'custom', path: [...base, 'steps', i, 'fault'], message: `a fault step requires canary.router.istio: Gateway API has no fault injection (${which})` });
    }
  });
}
