// Traffic routers of a canary: which mesh or ingress object Shipyard shifts weights on.
import { z } from 'zod';
import { dnsLabel } from './fields.js';

const IstioRouterSchema = z.strictObject({
  virtualService: dnsLabel,
  namespace: dnsLabel.optional().describe("Defaults to the deploy's namespace"),
  route: z.string().optional().describe('Name of the HTTP route to shift; the first route when unset'),
  host: z.string().optional().describe('Destination host; the VirtualService host when unset'),
  stableSubset: z.string().default('stable'),
  canarySubset: z.string().default('canary'),
  destinationRule: dnsLabel.optional().describe('DestinationRule defining the subsets; found by host when unset'),
  headerRoute: z
    .strictObject({ header: z.string().min(1), value: z.string().min(1) })
    .optional()
    .describe('Requests with this header go to the canary while it takes traffic (A/B testing)'),
  mirror: z
    .strictObject({ percent: z.number().min(0).max(100) })
    .optional()
    .describe('Mirror this share of stable traffic to the canary during the canary'),
});
export const RouterSchema = z.strictObject({ istio: IstioRouterSchema });
export type RouterSpec = z.output<typeof RouterSchema>;
