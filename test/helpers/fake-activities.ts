// MOCKED activities for workflow-logic tests (the SDK's recommended way to test workflows): an
// in-memory model of the outside world that records every call. Adapter tests use the real tools.
import { readRepoSpec } from '../../activities/build/spec-from-repo.js';
import { verifyRef } from '../../activities/build/ref-check.js';
import { buildSettingsFromEnv } from '../../activities/build/settings.js';
import { ApplicationFailure } from '@temporalio/common';
import type { RouterSpec } from '../../spec/schema.js';
import { routeObjectOf } from '../../spec/router.js';
import { Context } from '@temporalio/activity';
import { measureSeries } from '../../activities/metrics/series.js';
import { judgeCanary } from '../../activities/metrics/canary-judge.js';
import type {
  BuildActivities,
  CanaryJudgement,
  DeployActivities,
  IntegrationActivities,
  RouteWeights,
} from '../../activities/types.js';

export interface Call {
  name: string;
  environment?: string;
  detail?: unknown;
}

type FailureRule = { message: string; type?: string; nonRetryable?: boolean; remaining: number; environment?: string };

export class FakeWorld {
  readonly calls: Call[] = [];
  /** helm release -> deployed revision. */
  readonly helm = new Map<string, number>();
  /** virtual service -> weights. */
  readonly traffic = new Map<string, RouteWeights>();
  /** metric name -> values returned in order (the last repeats); null = no data; 'error' = query error. */
  readonly metricValues = new Map<string, (number | null | 'error')[]>();
  readonly notifications: { event: string; key: string }[] = [];
  readonly replicas = new Map<string, number>();
  private readonly failures = new Map<string, FailureRule[]>();
  private readonly delays = new Map<string, number>();
  private readonly metricCursor = new Map<string, number>();
  private configCommits = 0;
  /** Scripted judgements for judge steps, in order; without them judgeCanary asks the real Prometheus. */
  private readonly judgements: CanaryJudgement[] = [];

  /** Makes `activity` fail (non-retryable by default) `times` times, optionally only in one environment. */
  fail(activity: string, message = `${activity} failed (injected)`, opts: { times?: number; retryable?: boolean; environment?: string; type?: string } = {}): this {
    const rules = this.failures.get(activity) ?? [];
    rules.push({ message, type: opts.type ?? 'InjectedFailure', nonRetryable: !opts.retryable, remaining: opts.times ?? Infinity, environment: opts.environment });
    this.failures.set(activity, rules);
    return this;
  }

  /** Makes `activity` take `ms` (heartbeating, honouring cancellation). */
  delay(activity: string, ms: number): this {
    this.delays.set(activity, ms);
    return this;
  }

  metric(name: string, values: (number | null | 'error')[]): this {
    this.metricValues.set(name, values);
    return this;
  }

  /** Scripted judge-step judgements (score and metric results as judgeCanary would return them). */
  judged(...judgements: CanaryJudgement[]): this {
    this.judgements.push(...judgements);
    return this;
  }

  names(filter?: (c: Call) => boolean): string[] {
    return this.calls.filter(filter ?? (() => true)).map((c) => (c.environment ? `${c.name}@${c.environment}` : c.name));
  }

  /** The calls that are not reads, notifications or measurements: the side effects, in order. */
  effects(): string[] {
    const reads = new Set(['helmCurrentRevision', 'stableWorkloadExists', 'getTrafficWeights', 'measureMetric', 'measureSeries', 'judgeCanary', 'notify', 'checkHealth', 'updateJira', 'readImages', 'httpProbe']);
    return this.names((c) => !reads.has(c.name));
  }

  /** The metric's next scripted value (the last repeats); 'error' is a failed query. */
  private async nextValue(metric: string): Promise<number | null> {
    const values = this.metricValues.get(metric) ?? [0];
    const n = this.metricCursor.get(metric) ?? 0;
    this.metricCursor.set(metric, n + 1);
    const value = values[Math.min(n, values.length - 1)];
    if (value === 'error') throw ApplicationFailure.retryable('prometheus: connection refused (injected)', 'MetricQueryError');
    return value;
  }

  private async enter(name: string, environment: string | undefined, detail?: unknown): Promise<void> {
    this.calls.push({ name, environment, detail });
    const rule = (this.failures.get(name) ?? []).find((r) => r.remaining > 0 && (!r.environment || r.environment === environment));
    const ms = this.delays.get(name);
    if (ms) {
      const ctx = Context.current();
      const until = Date.now() + ms;
      while (Date.now() < until) {
        ctx.heartbeat();
        await Promise.race([new Promise((r) => setTimeout(r, 100)), ctx.cancelled]);
      }
    }
    if (rule) {
      rule.remaining--;
      throw ApplicationFailure.create({ message: rule.message, type: rule.type, nonRetryable: rule.nonRetryable });
    }
  }

  build(): BuildActivities {
    return {
      runTestGate: async (i) => {
        await this.enter('runTestGate', undefined);
        return { packages: 3, durationMs: 5 };
      },
      buildTarget: async (i) => {
        await this.enter('buildTarget', undefined, i.target);
        return { target: i.target, uri: `file:///fake/${i.commit}/${i.target}`, sha256: 'f'.repeat(64), size: 1024, cacheHit: false };
      },
      publishImage: async (i) => {
        await this.enter('publishImage', undefined);
        return { repository: i.repository, tag: i.version, digest: `sha256:${'a'.repeat(64)}`, platforms: i.platforms };
      },
      promoteImage: async (i) => {
        await this.enter('promoteImage', i.environment);
        return { ...i.image, repository: i.repository };
      },
      // The real one: it reads git and packages charts, no cluster or registry involved.
      readRepoSpec: async (i) => {
        await this.enter('readRepoSpec', undefined);
        return readRepoSpec(i, buildSettingsFromEnv());
      },
      // The real one too: git ls-remote against the spec's repository.
      verifyRef: async (i) => {
        await this.enter('verifyRef', i.environment);
        return verifyRef(i, buildSettingsFromEnv());
      },
      scanJiraIssues: async (i) => {
        await this.enter('scanJiraIssues', undefined);
        return { issues: ['SHIP-1'] };
      },
    };
  }

  deploy(): DeployActivities & IntegrationActivities {
    const vsKey = (i: { router: RouterSpec; namespace: string }) => `${i.namespace}/${routeObjectOf(i.router)}`;
    return {
      helmCurrentRevision: async (i) => {
        await this.enter('helmCurrentRevision', i.environment);
        return { release: i.helm.release, namespace: i.helm.namespace, revision: this.helm.get(`${i.helm.namespace}/${i.helm.release}`) ?? null };
      },
      helmDeploy: async (i) => {
        await this.enter('helmDeploy', i.environment);
        const key = `${i.helm.namespace}/${i.helm.release}`;
        const revision = (this.helm.get(key) ?? 0) + 1;
        this.helm.set(key, revision);
        return { release: i.helm.release, namespace: i.helm.namespace, revision };
      },
      helmRollback: async (i) => {
        await this.enter('helmRollback', i.environment, i.toRevision);
        const key = `${i.helm.namespace}/${i.helm.release}`;
        if (!this.helm.has(key)) {
          return i.toRevision === null ? { result: 'unchanged' as const, detail: `nothing installed as ${key}` } : { result: 'skipped' as const, detail: `helm release ${key} not found` };
        }
        if (i.toRevision === null) this.helm.delete(key);
        else this.helm.set(key, (this.helm.get(key) ?? 0) + 1);
        return { result: 'undone' as const, detail: i.toRevision === null ? `uninstalled ${key}` : `rolled ${key} back to ${i.toRevision}` };
      },
      helmPromote: async (i) => {
        await this.enter('helmPromote', i.environment, i.helm.release);
        const key = `${i.helm.namespace}/${i.helm.release}`;
        const revision = (this.helm.get(key) ?? 0) + 1;
        this.helm.set(key, revision);
        return { release: i.helm.release, namespace: i.helm.namespace, revision };
      },
      gitopsUpdate: async (i) => {
        await this.enter('gitopsUpdate', i.environment, i.purpose);
        this.configCommits++;
        return { repo: i.gitops.repo, branch: i.gitops.branch, commit: `c0ffee${this.configCommits}`.padEnd(40, '0'), previousTag: 'old' };
      },
      gitopsRevert: async (i) => {
        await this.enter('gitopsRevert', i.environment, i.purpose ?? 'deploy');
        return { result: 'undone' as const, detail: `reverted the ${i.purpose ?? 'deploy'} commit` };
      },
      checkHealth: async (i) => {
        await this.enter('checkHealth', i.environment);
        return { deployment: i.deployment, namespace: i.namespace, readyReplicas: 2, replicas: 2 };
      },
      httpProbe: async (i) => {
        await this.enter('httpProbe', i.environment, i.url);
        return { status: i.expectStatus };
      },
      getTrafficWeights: async (i) => {
        await this.enter('getTrafficWeights', i.environment);
        return this.traffic.get(vsKey(i)) ?? { stable: 100, canary: 0 };
      },
      setTrafficWeight: async (i) => {
        await this.enter('setTrafficWeight', i.environment, i.weight);
        const w = { stable: 100 - i.weight, canary: i.weight };
        this.traffic.set(vsKey(i), w);
        return w;
      },
      restoreTraffic: async (i) => {
        await this.enter('restoreTraffic', i.environment, i.weights);
        this.traffic.set(vsKey(i), i.weights);
        return { result: 'undone' as const, detail: `traffic ${i.weights.stable}/${i.weights.canary}`, weights: i.weights };
      },
      promoteCanary: async (i) => {
        await this.enter('promoteCanary', i.environment);
        this.traffic.set(vsKey(i), { stable: 100, canary: 0 });
      },
      scaleCanary: async (i) => {
        await this.enter('scaleCanary', i.environment, i.replicas);
        const previous = this.replicas.get(i.deployment) ?? 1;
        this.replicas.set(i.deployment, i.replicas);
        return { previous };
      },
      readImages: async (i) => {
        await this.enter('readImages', i.environment);
        return { app: `registry.local/${i.deployment}:stable` };
      },
      restoreImages: async (i) => {
        await this.enter('restoreImages', i.environment, i.images);
        return { result: 'undone' as const, detail: `images of ${i.deployment} restored` };
      },
      restoreReplicas: async (i) => {
        await this.enter('restoreReplicas', i.environment, i.replicas);
        this.replicas.set(i.deployment, i.replicas);
        return { result: 'undone' as const, detail: `${i.deployment} at ${i.replicas} replicas` };
      },
      setFault: async (i) => {
        await this.enter('setFault', i.environment, i.fault);
      },
      clearFault: async (i) => {
        await this.enter('clearFault', i.environment);
        return { result: 'undone' as const, detail: 'fault removed' };
      },
      // Generated canary plumbing is tested against the real API server (test/cluster/generated-canary.test.ts).
      stableWorkloadExists: async (i) => {
        await this.enter('stableWorkloadExists', i.environment);
        return { exists: true };
      },
      ensureCanaryPlumbing: async (i) => {
        await this.enter('ensureCanaryPlumbing', i.environment);
        return { objects: [] };
      },
      removeCanaryPlumbing: async (i) => {
        await this.enter('removeCanaryPlumbing', i.environment);
        return { result: 'undone' as const, detail: `${i.objects.length} object(s) removed` };
      },
      measureMetric: async (i) => {
        await this.enter('measureMetric', i.environment, i.metric.name);
        return { value: await this.nextValue(i.metric.name) };
      },
      // The real series loop (judging, tally, heartbeats, cancellable sleeps) over the scripted values.
      measureSeries: async (i) => {
        await this.enter('measureSeries', i.environment, i.metric.name);
        return measureSeries(i, { measure: async (metric) => ({ value: await this.nextValue(metric.name) }) });
      },
      // Scripted judgements first; then the real judge, which reads the Prometheus the spec names.
      judgeCanary: async (i) => {
        await this.enter('judgeCanary', i.environment);
        return this.judgements.shift() ?? judgeCanary(i);
      },
      notify: async (i) => {
        await this.enter('notify', i.environment, i.event);
        this.notifications.push({ event: i.event, key: i.idempotencyKey });
      },
      updateJira: async (i) => {
        await this.enter('updateJira', i.environment, i.outcome);
        return { issues: [] };
      },
    };
  }

  activities() {
    return { build: this.build(), deploy: this.deploy() };
  }
}
