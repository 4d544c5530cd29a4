// Release specs for tests: real specs through the real validator, with durations in seconds.
import { stringify } from 'yaml';
import { parseSpec } from '../../spec/load.js';
import type { MetricSpec, ReleaseSpec } from '../../spec/schema.js';

export interface SpecOptions {
  service: string;
  /** Extra fields merged into the production environment (approval, canary overrides...). */
  production?: Record<string, unknown>;
  staging?: Record<string, unknown>;
  canarySteps?: unknown[];
  metrics?: unknown[];
  /** canary.judge of production (judge steps). */
  judge?: Record<string, unknown>;
  rollbackScope?: 'environment' | 'release';
  notify?: unknown[];
  policy?: Record<string, unknown>;
  withBuild?: boolean;
}

export const ERROR_RATE = {
  name: 'error-rate',
  prometheus: { query: 'sum(rate(http_requests_total{code=~"5..",version="canary"}[1m]))' },
  thresholdRange: { max: 0.01 },
  interval: '1s',
  count: 2,
  failureLimit: 0,
};

/** Two environments: staging (helm) and production (gitops + a 3-step Istio canary). */
/** The side effects of twoEnvSpec's default release, in order (mocked activities' FakeWorld.effects()). */
export const TWO_ENV_EFFECTS = [
  'runTestGate',
  'buildTarget',
  'buildTarget',
  'publishImage',
  'helmDeploy@staging',
  'gitopsUpdate@production',
  'setTrafficWeight@production',
  'setTrafficWeight@production',
  'setTrafficWeight@production',
  'promoteCanary@production',
];

export function twoEnvSpec(opts: SpecOptions): ReleaseSpec {
  const doc: Record<string, unknown> = {
    service: opts.service,
    source: { repo: 'https://git.example.com/team/app.git', goPackage: './cmd/server' },
    ...(opts.withBuild === false
      ? {}
      : {
          build: { targets: ['linux/amd64', 'linux/arm64'], test: true },
          image: { repository: `registry.local/team/${opts.service}`, platforms: ['linux/amd64'] },
        }),
    environments: [
      {
        name: 'staging',
        // A chart reference, not a local path: specs written to a file are loaded with loadSpecFile,
        // which requires local charts to exist.
        deploy: { helm: { chart: 'oci://registry.local/charts/app', release: opts.service, namespace: 'staging', timeout: '1m' } },
        ...opts.staging,
      },
      {
        name: 'production',
        deploy: { gitops: { repo: 'https://git.example.com/ops/config.git', branch: 'prod', valuesFile: `${opts.service}/values.yaml` } },
        canary: {
          router: { istio: { virtualService: opts.service } },
          // A canary needs a way to promote (workloads or promote); the stable Deployment takes the canary images.
          workloads: { stable: opts.service, canary: `${opts.service}-canary` },
          steps: opts.canarySteps ?? [
            { setWeight: 10 },
            { pause: '1s' },
            { analysis: { metrics: ['error-rate'] } },
            { setWeight: 50 },
            { setWeight: 100 },
          ],
          metrics: opts.metrics ?? [ERROR_RATE],
          ...(opts.judge ? { judge: opts.judge } : {}),
        },
        ...opts.production,
      },
    ],
    notify: opts.notify ?? [{ webhook: { urlEnv: 'TEST_WEBHOOK_URL' } }],
    rollback: { scope: opts.rollbackScope ?? 'environment' },
    ...(opts.policy ? { policy: opts.policy } : {}),
  };
  return parseSpec(stringify(doc), `${opts.service}.yaml`);
}

/** A parsed threshold metric (defaults spelled out) for tests of the judging rules. */
export const thresholdMetric = (over: Partial<MetricSpec> = {}): MetricSpec => ({
  ...ERROR_RATE,
  prometheus: { query: 'q' },
  count: 10,
  consecutiveErrorLimit: 4,
  inconclusive: 'error',
  dryRun: false,
  ...over,
});
