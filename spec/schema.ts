// The release spec: the one document that says how a service is built, deployed and promoted.
// This zod schema is the truth; DESIGN.md has a sketch and README.md the reference.
import { z } from 'zod';
import { CronExpressionParser } from 'cron-parser/dist/CronExpressionParser.js';
import { formatDuration, parseDuration } from './duration.js';
import type { JudgeStep } from './judge-schema.js';
import { dnsLabel, duration, envName, helmRelease, platform, valuesPath } from './fields.js';
import { chartRepo, chartVersion, checkChartSource, plainHttpField } from './chart-source.js';

export { IdentitySchema } from './fields.js';
import { ApprovalSchema } from './approval-schema.js';
import { CanarySchema } from './canary-schema.js';
import { MetricSchema, type MetricSpec } from './metric-schema.js';
import { checkRouterFeatures } from './router-schema.js';
import { checkClusters, clustersField, wavesField } from './clusters-schema.js';
export type { ClusterSpec } from './clusters-schema.js';
export { ApprovalSchema } from './approval-schema.js';
export type { MetricSpec } from './metric-schema.js';
export type { RouterSpec } from './router-schema.js';
export type { CanarySpec, CanaryStep } from './canary-schema.js';

const HelmDeploySchema = z.strictObject({
  chart: z
    .string()
    .min(1)
    .describe('Chart path (relative to the spec file), oci://host/path/name, repo/chart, or with repo the chart name in that repository'),
  version: chartVersion.optional(),
  repo: chartRepo.optional(),
  plainHttp: plainHttpField.default(false),
  release: helmRelease.describe('Helm release name (at most 53 characters)'),
  namespace: dnsLabel.default('default'),
  timeout: duration.default('5m').describe('helm --timeout: how long --wait may take'),
  values: z.record(z.string(), z.unknown()).default({}).describe('Values passed to the chart'),
  valuesFiles: z.array(z.string()).default([]),
  imageValues: z
    .strictObject({
      repository: valuesPath.default('image.repository'),
      tag: valuesPath.default('image.tag'),
      digest: valuesPath.optional(),
    })
    .default({ repository: 'image.repository', tag: 'image.tag' })
    .describe('Where in the values the built image goes (dotted paths)'),
  kubeContext: z.string().optional(),
}).superRefine((helm, ctx) => checkChartSource(helm, [], ctx));

const GitOpsDeploySchema = z.strictObject({
  repo: z.string().min(1).describe('Config repository URL or path'),
  branch: z.string().min(1).default('main'),
  valuesFile: z.string().min(1).describe('Values file inside the config repo'),
  imageTagPath: valuesPath.default('image.tag').describe('Dotted path of the image tag in the values file'),
  promoteFrom: z
    .string()
    .min(1)
    .optional()
    .describe('Environment branch to merge into this one (dev -> test -> prod) instead of editing the values file'),
  argocd: z
    .strictObject({
      application: z.string().min(1),
      namespace: z.string().default('argocd'),
    })
    .optional()
    .describe('Wait for this Argo CD Application to be Synced and Healthy'),
  timeout: duration.default('10m').describe('How long the cluster may take to reflect the change'),
});

const DeploySchema = z
  .strictObject({ helm: HelmDeploySchema.optional(), gitops: GitOpsDeploySchema.optional() })
  .superRefine((deploy, ctx) => {
    const kinds = [deploy.helm && 'helm', deploy.gitops && 'gitops'].filter(Boolean);
    if (kinds.length !== 1) {
      ctx.addIssue({ code: 'custom', message: `needs exactly one of helm, gitops (found ${kinds.length ? kinds.join(', ') : 'none'})` });
    }
  });

const HealthSchema = z.strictObject({
  timeout: duration.default('5m').describe('How long the rollout may take to become ready'),
  deployment: z.string().optional().describe('Deployment to watch; defaults to the helm release, else the service name'),
  namespace: dnsLabel.optional().describe("Defaults to the helm deploy's namespace, else default"),
});

const HttpCheckSchema = z.strictObject({
  url: z.string().url(),
  expectStatus: z.number().int().min(100).max(599).default(200),
  timeout: duration.default('10s'),
});

/** Post-deploy checks: HTTP probes and Prometheus assertions, judged like canary analysis. */
const HealthChecksSchema = z.strictObject({
  http: z.array(HttpCheckSchema).default([]),
  metrics: z.array(MetricSchema).default([]).describe("e.g. up == 1: thresholdRange { min: 1 }; 5xx rate: thresholdRange { max: 0.01 }"),
});

const EnvironmentSchema = z.strictObject({
  name: dnsLabel,
  concurrency: z
    .enum(['queue', 'supersede', 'reject'])
    .default('queue')
    .describe(
      'A second release of this service to this environment: queue waits its turn (FIFO); supersede cancels and compensates an older one that has not deployed yet or waits at an approval; reject fails the newcomer with EnvironmentBusy',
    ),
  checks: HealthChecksSchema.optional().describe('Run after the rollout is ready; a failing check fails the deploy (and rolls back)'),
  kubeContext: z.string().optional().describe('kubeconfig context of this environment (health checks, traffic)'),
  image: z
    .strictObject({ repository: z.string().min(1).describe('Registry repository of this environment, e.g. registry/prod/app') })
    .optional()
    .describe('Promote the image into this repository (copy by digest) before deploying'),
  approval: ApprovalSchema.optional().describe('People who must approve before this environment is deployed'),
  deploy: DeploySchema,
  health: HealthSchema.default({ timeout: '5m' }),
  canary: CanarySchema.optional(),
  clusters: clustersField,
  waves: wavesField,
});

const DenyWindowSchema = z.strictObject({
  cron: z
    .string()
    .regex(/^\S+(\s+\S+){4,5}$/, 'must be a 5-field cron expression: minute hour day-of-month month day-of-week (or 6 fields, seconds first)')
    .describe('When the window opens (5 fields; a 6th, leading, field is seconds)'),
  duration: duration.describe('How long the window stays closed to deploys'),
  timezone: z.string().default('UTC').describe('IANA time zone of the cron expression'),
  reason: z.string().default('deploy window closed'),
}).superRefine((w, ctx) => {
  // Checked here so a bad expression fails at load time, not inside a running release.
  try {
    CronExpressionParser.parse(w.cron, { tz: w.timezone, currentDate: new Date(0) }).next();
  } catch (err) {
    ctx.addIssue({ code: 'custom', path: ['cron'], message: `invalid cron expression or time zone: ${(err as Error).message}` });
  }
});

const TRIGGER_KINDS = ['cli', 'jenkins', 'webhook', 'chat', 'demo', 'api'] as const;

const EnvironmentPolicySchema = z.strictObject({
  allowedRefs: z.array(z.string().min(1)).optional().describe("Git refs that may release here, globs: ['refs/tags/v*'] = tags only"),
  allowedTriggers: z.array(z.enum(TRIGGER_KINDS)).optional().describe('What may start a release to this environment'),
  minApprovals: z.number().int().min(1).optional().describe('The environment approval must require at least this many'),
});

const PolicySchema = z.strictObject({
  denyWindows: z.array(DenyWindowSchema).default([]),
  onDenyWindow: z.enum(['wait', 'fail']).default('wait').describe('Wait for the window to end, or fail the release'),
  environments: z.record(z.string(), EnvironmentPolicySchema).default({}).describe('Rules per environment name'),
});

export const NOTIFY_EVENTS = [
  'started',
  'waiting-approval',
  'deployed',
  'health-degraded',
  'canary-step',
  'succeeded',
  'failed',
  'rolled-back',
] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];


const NotifySchema = z
  .strictObject({
    feishu: z.strictObject({ webhookEnv: envName, secretEnv: envName.optional() }).optional(),
    dingtalk: z.strictObject({ webhookEnv: envName, secretEnv: envName.optional() }).optional(),
    slack: z.strictObject({ webhookEnv: envName }).optional(),
    webhook: z.strictObject({ urlEnv: envName }).optional(),
    email: z.strictObject({ to: z.array(z.string().email()).min(1), from: z.string().default('shipyard@localhost'), smtpUrlEnv: envName }).optional(),
    on: z.array(z.enum(NOTIFY_EVENTS)).default([...NOTIFY_EVENTS]),
    template: z
      .strictObject({
        title: z.string().max(500).optional(),
        text: z.string().max(4000).optional(),
      })
      .optional()
      .describe('Mustache templates for the title and text; fields: service, version, environment, stage, canaryWeight, approvedBy, commit, url, event, outcome, error, gate'),
  })
  .superRefine((n, ctx) => {
    const kinds = ['feishu', 'dingtalk', 'slack', 'webhook', 'email'].filter((k) => (n as Record<string, unknown>)[k]);
    if (kinds.length !== 1) {
      ctx.addIssue({ code: 'custom', message: `needs exactly one channel of feishu, dingtalk, slack, webhook, email (found ${kinds.length})` });
    }
  });

const JiraSchema = z.strictObject({
  baseUrl: z.string().url(),
  issueFromCommit: z.boolean().default(true),
  transition: z.string().optional(),
  credentialsEnv: envName.default('JIRA_TOKEN'),
});

export const ReleaseSpecSchema = z
  .strictObject({
    $schema: z.string().optional(),
    service: dnsLabel.describe('Service name; part of the release ID'),
    source: z.strictObject({
      repo: z.string().min(1).describe('Git URL or path of the service source (paths are relative to the spec file)'),
      dir: z.string().min(1).default('.').describe('Go module directory inside the repository'),
      goPackage: z.string().min(1).default('.').describe('Go package to build, relative to dir, e.g. ./cmd/server'),
    }),
    build: z
      .strictObject({
        targets: z.array(platform).min(1).default(['linux/amd64']),
        test: z.boolean().default(true).describe('go test -race ./... before building'),
        vet: z.boolean().default(true),
        ldflags: z.string().default('-s -w'),
        versionVariable: z.string().optional().describe('Go variable set to the version with -X, e.g. main.version'),
        artifactStore: z
          .string()
          .regex(/^(local|oci:\/\/[a-z0-9.-]+(:\d+)?\/[a-z0-9._/-]+)$/, 'must be local or oci://registry/repository (lower case)')
          .optional()
          .describe(
            'Where the built binaries go: oci://registry/repository (OCI artifacts by digest, which every build worker can pull) or local (the build worker\'s disk: one build worker only). Default: the image repository when there is an image section, else the build worker\'s SHIPYARD_ARTIFACT_STORE, else local',
          ),
      })
      .optional(),
    image: z
      .strictObject({
        repository: z.string().min(1),
        platforms: z.array(platform).min(1).default(['linux/amd64']),
        base: z.string().default('scratch'),
      })
      .optional(),
    environments: z.array(EnvironmentSchema).min(1, 'list at least one environment'),
    policy: PolicySchema.default({ denyWindows: [], onDenyWindow: 'wait', environments: {} }),
    notify: z.array(NotifySchema).default([]),
    jira: JiraSchema.optional(),
    rollback: z
      .strictObject({
        scope: z
          .enum(['environment', 'release'])
          .default('environment')
          .describe('environment: undo only the failing environment; release: undo every environment of this release'),
      })
      .default({ scope: 'environment' }),
  })
  .superRefine((spec, ctx) => {
    const seen = new Set<string>();
    spec.environments.forEach((env, i) => {
      if (seen.has(env.name)) ctx.addIssue({ code: 'custom', path: ['environments', i, 'name'], message: `duplicate environment '${env.name}'` });
      seen.add(env.name);
      if (env.clusters || env.waves) checkClusters(env, ['environments', i], ctx);
      if (env.canary) checkCanary(env, i, ctx);
      if (env.checks) checkMetrics(env.checks.metrics, ['environments', i, 'checks', 'metrics'], ctx);
    });
    if (spec.image && spec.build) {
      spec.image.platforms.forEach((p, i) => {
        if (!spec.build!.targets.includes(p)) {
          ctx.addIssue({ code: 'custom', path: ['image', 'platforms', i], message: `platform ${p} is not among build.targets` });
        }
      });
    }
    for (const [name, rule] of Object.entries(spec.policy.environments)) {
      const env = spec.environments.find((e) => e.name === name);
      if (!env) {
        ctx.addIssue({ code: 'custom', path: ['policy', 'environments', name], message: `no environment '${name}' in this spec` });
        continue;
      }
      if (rule.minApprovals && (env.approval?.required ?? 0) < rule.minApprovals) {
        ctx.addIssue({
          code: 'custom',
          path: ['policy', 'environments', name, 'minApprovals'],
          message: `${name} must require at least ${rule.minApprovals} approval(s); its approval requires ${env.approval?.required ?? 'none'}`,
        });
      }
    }
    spec.environments.forEach((env, i) => {
      if (env.image && !spec.image) {
        ctx.addIssue({ code: 'custom', path: ['environments', i, 'image'], message: 'promoting an image needs the top-level image section' });
      }
      if (env.canary?.generate && !spec.image) {
        ctx.addIssue({ code: 'custom', path: ['environments', i, 'canary', 'generate'], message: 'canary.generate needs the top-level image section: the generated canary runs the release image' });
      }
    });
    if (spec.image && !spec.build) {
      ctx.addIssue({ code: 'custom', path: ['image'], message: 'an image needs a build section to produce its binaries' });
    }
  });

type EnvironmentOut = z.output<typeof EnvironmentSchema>;

function checkCanary(env: EnvironmentOut, envIndex: number, ctx: z.RefinementCtx) {
  const canary = env.canary!;
  const base = ['environments', envIndex, 'canary'];
  const names = checkMetrics(canary.metrics, [...base, 'metrics'], ctx);
  if (canary.generate) checkGenerated(env, base, ctx);
  checkRouterFeatures(canary, base, ctx);
  if (canary.scaling && !canary.workloads) {
    ctx.addIssue({ code: 'custom', path: [...base, 'scaling'], message: 'scaling needs canary.workloads (which Deployment to scale)' });
  }
  checkPromotion(env, base, ctx);
  let lastWeight = 0;
  canary.steps.forEach((step, i) => {
    const path = [...base, 'steps', i];
    if ('setWeight' in step) {
      if (step.setWeight < lastWeight) {
        ctx.addIssue({ code: 'custom', path: [...path, 'setWeight'], message: `weights must not decrease (${lastWeight} -> ${step.setWeight})` });
      }
      lastWeight = step.setWeight;
    } else if ('analysis' in step || 'fault' in step) {
      const key = 'analysis' in step ? 'analysis' : 'fault';
      const metrics = 'analysis' in step ? step.analysis.metrics : step.fault.metrics;
      metrics.forEach((name, j) => {
        if (!names.has(name)) {
          const known = [...names].join(', ') || 'none defined';
          ctx.addIssue({ code: 'custom', path: [...path, key, 'metrics', j], message: `unknown metric '${name}' (canary.metrics has: ${known})` });
        }
      });
    } else if ('judge' in step) {
      checkJudgeStep(env, step.judge, path, ctx);
    } else if ('approval' in step) {
      if (!step.approval.approvers && !env.approval) {
        ctx.addIssue({
          code: 'custom',
          path: [...path, 'approval', 'approvers'],
          message: 'an approval step needs approvers, here or in the environment approval',
        });
      }
      const approvers = step.approval.approvers ?? env.approval?.approvers ?? [];
      const required = step.approval.required ?? env.approval?.required ?? 1;
      if (approvers.length > 0 && required > approvers.length && !approvers.some((x) => x.startsWith('group:'))) {
        ctx.addIssue({ code: 'custom', path: [...path, 'approval', 'required'], message: `needs ${required} approvals but lists ${approvers.length} approvers` });
      }
    }
  });
}

/** A judge step needs canary.judge and names its metrics; a marginal score sent to approval needs approvers. */
function checkJudgeStep(env: EnvironmentOut, step: JudgeStep, path: PropertyKey[], ctx: z.RefinementCtx) {
  const judge = env.canary!.judge;
  const metrics = step.metrics;
  if (!judge) {
    ctx.addIssue({ code: 'custom', path: [...path, 'judge'], message: 'a judge step needs canary.judge (the metrics, and the canary and baseline placeholder values)' });
    return;
  }
  const known = judge.metrics.map((m) => m.name);
  (metrics ?? []).forEach((name, j) => {
    if (!known.includes(name)) ctx.addIssue({ code: 'custom', path: [...path, 'judge', 'metrics', j], message: `unknown metric '${name}' (canary.judge.metrics has: ${known.join(', ')})` });
  });
  // A window too short for minSamples would make every sampled metric inconclusive: every release rolls back.
  const stepMs = parseDuration(judge.step);
  const samples = Math.floor(parseDuration(step.window) / stepMs) + 1;
  for (const m of judge.metrics.filter((x) => x.query !== undefined && (!metrics || metrics.includes(x.name)))) {
    const needed = m.minSamples ?? judge.minSamples;
    if (samples < needed) {
      ctx.addIssue({
        code: 'custom',
        path: [...path, 'judge', 'window'],
        message: `a ${step.window} window sampled every ${judge.step} gives ${samples} samples per side, fewer than the ${needed} metric '${m.name}' needs: make the window at least ${formatDuration((needed - 1) * stepMs)}, or shorten canary.judge.step`,
      });
      break;
    }
  }
  if (judge.marginal === 'approval' && !env.approval) {
    ctx.addIssue({ code: 'custom', path: [...path.slice(0, -2), 'judge', 'marginal'], message: "marginal: approval sends a marginal score to the environment's approvers: add environments[].approval" });
  }
}

/** Metric names are unique and intervals at least 1s (canary metrics and post-deploy checks alike). Returns the names. */
function checkMetrics(metrics: MetricSpec[], base: PropertyKey[], ctx: z.RefinementCtx): Set<string> {
  const names = new Set<string>();
  metrics.forEach((m, i) => {
    if (names.has(m.name)) ctx.addIssue({ code: 'custom', path: [...base, i, 'name'], message: `duplicate metric '${m.name}'` });
    names.add(m.name);
    if (parseDuration(m.interval) < 1000) {
      ctx.addIssue({ code: 'custom', path: [...base, i, 'interval'], message: 'must be at least 1s' });
    }
  });
  return names;
}

/** A generated canary brings its own workloads, routing by Service and promotion through deploy.helm. */
function checkGenerated(env: EnvironmentOut, base: PropertyKey[], ctx: z.RefinementCtx) {
  const canary = env.canary!;
  const issue = (path: PropertyKey[], message: string) => ctx.addIssue({ code: 'custom', path: [...base, ...path], message });
  if (env.deploy.gitops) {
    issue(['generate'], 'canary.generate needs deploy.helm (the stable release, upgraded at promotion); with deploy.gitops, keep the canary in the config repo and use canary.workloads');
  }
  if (canary.workloads) issue(['workloads'], 'canary.workloads cannot be combined with canary.generate: the canary Deployment is generated as `<stable>-canary`; drop one of them');
  if (canary.scaling) issue(['scaling'], 'canary.scaling cannot be combined with canary.generate: the generated canary runs the stable replica count');
  if (canary.promote) issue(['promote'], 'canary.promote cannot be combined with canary.generate: promotion upgrades the stable release of deploy.helm with the release image');
  if (canary.scaleDownAfterPromotion) issue(['scaleDownAfterPromotion'], 'scaleDownAfterPromotion cannot be combined with canary.generate: the generated canary Deployment is deleted after promotion');
  if (canary.router.istio?.destinationRule) {
    issue(['router', 'istio', 'destinationRule'], 'a generated canary routes by Service (stable host, `<host>-canary`), not by DestinationRule subsets: drop destinationRule');
  }
}

/** How the new version reaches the stable workload after the canary; without a way it would end at 0%. */
function checkPromotion(env: EnvironmentOut, base: PropertyKey[], ctx: z.RefinementCtx) {
  const canary = env.canary!;
  if (canary.generate) return; // promotion through deploy.helm; checkGenerated says what does not fit
  if (!canary.workloads && !canary.promote) {
    ctx.addIssue({
      code: 'custom',
      path: base,
      message:
        'a canary needs a way to promote: add canary.workloads (the stable Deployment takes the canary images) or canary.promote (helm or gitops updates the stable workload); without either, promotion returns all traffic to the old version and reports success',
    });
  }
  if (canary.scaleDownAfterPromotion && !canary.workloads) {
    ctx.addIssue({ code: 'custom', path: [...base, 'scaleDownAfterPromotion'], message: 'scaleDownAfterPromotion needs canary.workloads (which Deployment to scale down)' });
  }
  const promote = canary.promote;
  if (!promote) return;
  const deployKind = env.deploy.helm ? 'helm' : 'gitops';
  if (!env.deploy.helm === !env.deploy.gitops) return; // deploy itself is invalid and says so
  if (promote.helm && !env.deploy.helm) {
    ctx.addIssue({ code: 'custom', path: [...base, 'promote', 'helm'], message: `promote.helm needs deploy.helm (this environment deploys with ${deployKind}; use promote.gitops)` });
  }
  if (promote.gitops && !env.deploy.gitops) {
    ctx.addIssue({ code: 'custom', path: [...base, 'promote', 'gitops'], message: `promote.gitops needs deploy.gitops (this environment deploys with ${deployKind}; use promote.helm)` });
  }
  if (promote.gitops && env.deploy.gitops?.promoteFrom) {
    const from = env.deploy.gitops.promoteFrom;
    ctx.addIssue({
      code: 'custom',
      path: [...base, 'promote', 'gitops'],
      message: `promote.gitops cannot be combined with deploy.gitops.promoteFrom: this environment's branch takes its content by merging '${from}', so a stable-tag commit of its own makes it diverge from '${from}' (the next promotion merge conflicts or carries it on); promote with canary.workloads, or deploy by editing the values file instead of promoteFrom`,
    });
  }
}

export type ReleaseSpec = z.output<typeof ReleaseSpecSchema>;
export type ReleaseSpecInput = z.input<typeof ReleaseSpecSchema>;
export type EnvironmentSpec = ReleaseSpec['environments'][number];
export type HelmDeploySpec = z.output<typeof HelmDeploySchema>;
export type GitOpsDeploySpec = z.output<typeof GitOpsDeploySchema>;
export type ApprovalSpec = z.output<typeof ApprovalSchema>;
export type DenyWindowSpec = z.output<typeof DenyWindowSchema>;
export type PolicySpec = z.output<typeof PolicySchema>;
export type NotifySpec = z.output<typeof NotifySchema>;
export type JiraSpec = z.output<typeof JiraSchema>;
