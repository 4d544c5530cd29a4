// The canary section: router, steps, metrics, workloads, scaling and promotion.
import { z } from 'zod';
import { dnsLabel, duration, helmRelease, valuesPath, weight } from './fields.js';
import { chartRepo, chartVersion, checkChartSource, plainHttpField } from './chart-source.js';
import { ApprovalStepSchema } from './approval-schema.js';
import { RouterSchema } from './router-schema.js';
import { MetricSchema } from './metric-schema.js';
import { JudgeSchema, JudgeStepSchema, type JudgeStep } from './judge-schema.js';

const PauseSchema = z.union([duration, z.strictObject({ duration: duration.optional() })]);

const StepSchema = z
  .strictObject({
    setWeight: weight.optional().describe('Percent of traffic to the canary'),
    pause: PauseSchema.optional().describe('A duration, or {} to wait for a resume signal'),
    analysis: z
      .strictObject({
        metrics: z.array(z.string()).min(1),
        background: z.boolean().default(false).describe('Keep measuring across the following steps'),
      })
      .optional(),
    approval: ApprovalStepSchema.optional(),
    fault: z
      .strictObject({
        delay: z.strictObject({ percent: z.number().min(0).max(100), fixedDelay: duration }).optional(),
        abort: z.strictObject({ percent: z.number().min(0).max(100), httpStatus: z.number().int().min(400).max(599) }).optional(),
        duration: duration.describe('How long the fault stays applied while the metrics are measured'),
        metrics: z.array(z.string()).min(1).describe('Metrics that must stay within their thresholds under the fault'),
      })
      .refine((f) => f.delay || f.abort, { message: 'set delay, abort or both' })
      .optional()
      .describe('Inject an Istio fault on the route for a bounded time and check the SLO holds'),
    judge: JudgeStepSchema.optional().describe('Judge the canary against the baseline statistically over a window (canary.judge)'),
  })
  .superRefine((step, ctx) => {
    const keys = Object.keys(step).filter((k) => (step as Record<string, unknown>)[k] !== undefined);
    if (keys.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: `a step has exactly one of setWeight, pause, analysis, approval, fault, judge (found ${keys.length ? keys.join(', ') : 'none'})`,
      });
    }
  })
  .transform((step): CanaryStep => {
    if (step.setWeight !== undefined) return { setWeight: step.setWeight };
    if (step.pause !== undefined) return { pause: typeof step.pause === 'string' ? { duration: step.pause } : step.pause };
    if (step.analysis !== undefined) return { analysis: step.analysis };
    if (step.fault !== undefined) return { fault: step.fault };
    if (step.judge !== undefined) return { judge: step.judge };
    return { approval: step.approval ?? {} };
  });

export type CanaryStep =
  | { judge: JudgeStep }
  | { setWeight: number }
  | { pause: { duration?: string } }
  | { analysis: { metrics: string[]; background: boolean } }
  | { approval: { approvers?: string[]; required?: number; timeout?: string; fourEyes?: boolean } }
  | {
      fault: {
        delay?: { percent: number; fixedDelay: string };
        abort?: { percent: number; httpStatus: number };
        duration: string;
        metrics: string[];
      };
    };

/**
 * Promotion through the deployer that deployed, so its history and the live state agree: helm
 * upgrades the stable release with the new image (a recorded revision), GitOps commits the tag to
 * the stable values. Without it, promotion copies the canary's images onto the stable Deployment.
 */
const PromoteSchema = z
  .strictObject({
    helm: z
      .strictObject({
        release: helmRelease.optional().describe("The stable helm release; defaults to the deploy's release"),
        chart: z.string().min(1).optional().describe("Its chart; defaults to the deploy's chart (with its version, repo and plainHttp)"),
        version: chartVersion.optional().describe('Version of promote.helm.chart (helm --version)'),
        repo: chartRepo.optional().describe('Chart repository of promote.helm.chart'),
        plainHttp: plainHttpField.optional().describe('promote.helm.chart is in an OCI registry reached over plain HTTP'),
        imageValues: z
          .strictObject({ repository: valuesPath, tag: valuesPath, digest: valuesPath.optional() })
          .describe('Where the stable image goes in the values (dotted paths), e.g. stable.image.tag'),
      })
      .optional(),
    gitops: z
      .strictObject({
        valuesFile: z.string().min(1).optional().describe("Values file of the stable workload; defaults to the deploy's"),
        imageTagPath: valuesPath.describe('Dotted path of the stable image tag, e.g. stable.image.tag'),
      })
      .optional(),
  })
  .superRefine((promote, ctx) => {
    const kinds = [promote.helm && 'helm', promote.gitops && 'gitops'].filter(Boolean);
    if (kinds.length !== 1) {
      ctx.addIssue({ code: 'custom', message: `needs exactly one of helm, gitops (found ${kinds.length ? kinds.join(', ') : 'none'})` });
    }
    const helm = promote.helm;
    if (!helm) return;
    checkChartSource(helm, ['helm'], ctx);
    for (const field of ['version', 'repo', 'plainHttp'] as const) {
      if (helm[field] !== undefined && helm.chart === undefined) {
        ctx.addIssue({ code: 'custom', path: ['helm', field], message: `promote.helm.${field} describes promote.helm.chart, which is not set (without it the deploy's chart, version and repo are used)` });
      }
    }
  })
  .describe('Promote with the deployer: helm upgrades the stable release, GitOps commits the stable tag');

export const CanarySchema = z.strictObject({
  generate: z
    .boolean()
    .optional()
    .describe(
      'Generate the canary plumbing from the stable Deployment (deploy.helm installs it): a `<stable>-canary` Deployment with the release image, a `<service>-canary` Service and, when missing, the VirtualService; router.istio.host names the stable Service (default: the stable Deployment). Promotion upgrades the stable helm release',
    ),
  router: RouterSchema,
  promote: PromoteSchema.optional(),
  scaleDownAfterPromotion: z
    .boolean()
    .default(false)
    .describe('After promotion scale the canary Deployment to 0 (default: back to its replicas before the canary)'),
  steps: z.array(StepSchema).min(1),
  metrics: z.array(MetricSchema).default([]),
  judge: JudgeSchema.optional(),
  workloads: z
    .strictObject({ stable: dnsLabel, canary: dnsLabel })
    .optional()
    .describe('Stable and canary Deployments: promotion gives the stable one the canary images'),
  scaling: z
    .strictObject({
      mode: z.enum(['proportional', 'fixed']),
      replicas: z.number().int().min(1).describe('proportional: replicas at 100%; fixed: canary replicas'),
    })
    .optional()
    .describe('Scale the canary Deployment with its weight (needs workloads)'),
});

export type CanarySpec = z.output<typeof CanarySchema>;
