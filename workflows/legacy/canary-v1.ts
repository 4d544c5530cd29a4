// FROZEN: the canary engine of release-v1 (see release-v1.ts). Do not change it.
// The canary step engine: setWeight, pause, analysis (inline or background) and approval steps.
// A background analysis that fails cancels the steps at once, not at the next step boundary.
import { ApplicationFailure, CancellationScope, isCancellation, sleep } from '@temporalio/workflow';
import type { CanaryStep, EnvironmentSpec, MetricSpec } from '../../spec/schema.js';
import { parseDuration } from '../../spec/duration.js';
import { routeObjectOf } from '../../spec/router.js';
import { judge, MetricTally } from '../analysis.js';
import type { Release } from './release-v1.js';
import { errorMessage } from './saga-v1.js';
import type { AnalysisRecord } from '../types.js';

const ANALYSIS_FAILED = 'AnalysisFailed';

export async function runCanary(release: Release, env: EnvironmentSpec): Promise<void> {
  const canary = env.canary!;
  const traffic = { ...release.ref(env.name), router: canary.router, namespace: release.namespaceOf(env), kubeContext: env.kubeContext };
  const steps = canary.steps;
  const { workloads, scaling } = canary;

  // Pushed first so it runs last: traffic goes back to stable before the canary loses its pods.
  if (scaling && workloads) {
    release.saga.push(`scale ${workloads.canary} to 0 replicas`, env.name, () =>
      release.acts.compensate().scaleCanary({ ...traffic, deployment: workloads.canary, replicas: 0 }).then(() => undefined),
    );
  }
  const replicasFor = (weight: number) =>
    !scaling || weight === 0 ? 0 : scaling.mode === 'fixed' ? scaling.replicas : Math.max(1, Math.ceil((scaling.replicas * weight) / 100));

  // Record the starting weights before the first change, so the undo restores exactly them.
  const initial = await release.acts.read.getTrafficWeights(traffic);
  release.saga.push(
    `restore ${routeObjectOf(canary.router)} traffic to stable ${initial.stable} / canary ${initial.canary}`,
    env.name,
    () => release.acts.compensate().restoreTraffic({ ...traffic, weights: initial }).then(() => undefined),
  );
  release.setCanaryWeight(env.name, initial.canary, 'starting', 0, steps.length);

  const stepsScope = new CancellationScope();
  const backgroundScope = new CancellationScope();
  const background: Promise<void>[] = [];
  let backgroundFailure: unknown;

  try {
    await stepsScope.run(async () => {
      for (let i = 0; i < steps.length; i++) {
        await release.checkpoint();
        const step = steps[i];
        release.setCanaryWeight(env.name, release.status.canary?.weight ?? 0, describeStep(step), i, steps.length);
        if ('setWeight' in step) {
          const before = release.status.canary?.weight ?? 0;
          const scale = () => release.acts.mutate().scaleCanary({ ...traffic, deployment: workloads!.canary, replicas: replicasFor(step.setWeight) });
          // Capacity before traffic on the way up, traffic before capacity on the way down.
          if (scaling && workloads && step.setWeight >= before) await scale();
          await release.acts.mutate().setTrafficWeight({ ...traffic, weight: step.setWeight });
          if (scaling && workloads && step.setWeight < before) await scale();
          release.setCanaryWeight(env.name, step.setWeight, describeStep(step), i, steps.length);
          release.notify('canary-step', env.name, { step: i + 1, steps: steps.length, weight: step.setWeight });
        } else if ('pause' in step) {
          if (step.pause.duration) await sleep(parseDuration(step.pause.duration));
          else await release.waitForResume();
        } else if ('analysis' in step) {
          const metrics = step.analysis.metrics.map((name) => canary.metrics.find((m) => m.name === name)!);
          if (step.analysis.background) {
            const label = `background-from-step-${i + 1}`;
            background.push(
              backgroundScope
                .run(() => runAnalysis(release, env.name, label, metrics, true))
                .catch((err) => {
                  if (isCancellation(err)) return;
                  backgroundFailure = err;
                  stepsScope.cancel();
                }),
            );
          } else {
            await runAnalysis(release, env.name, `step-${i + 1}`, metrics, false);
          }
        } else if ('fault' in step) {
          const { delay, abort, duration, metrics: names } = step.fault;
          const undo = release.saga.push(`remove the fault from ${routeObjectOf(canary.router)}`, env.name, () =>
            release.acts.compensate().setFault({ ...traffic, fault: null }),
          );
          await release.acts.mutate().setFault({ ...traffic, fault: { delay, abort } });
          const metrics = names.map((name) => canary.metrics.find((m) => m.name === name)!);
          await runAnalysis(release, env.name, `fault-step-${i + 1}`, metrics, false, parseDuration(duration));
          await release.acts.mutate().setFault({ ...traffic, fault: null });
          release.saga.resolve(undo);
        } else if ('approval' in step) {
          const own = step.approval;
          const base = env.approval;
          await release.approvalGate(`${env.name}/canary/step-${i + 1}`, env.name, {
            approvers: own.approvers ?? base?.approvers ?? [],
            required: own.required ?? base?.required ?? 1,
            timeout: own.timeout ?? base?.timeout ?? '24h',
            fourEyes: own.fourEyes ?? base?.fourEyes ?? false,
          });
        }
      }
    });
  } catch (err) {
    if (backgroundFailure !== undefined && isCancellation(err) && !release.aborted) throw backgroundFailure;
    throw err;
  } finally {
    backgroundScope.cancel();
    await Promise.all(background);
  }
  if (backgroundFailure !== undefined) throw backgroundFailure;
}

/** Measures each metric `count` times (background: until cancelled) and fails on the first verdict. */
/** `forMs`: measure for that long (count = forMs / interval) instead of each metric's count. */
export async function runAnalysis(
  release: Release,
  environment: string,
  label: string,
  metrics: MetricSpec[],
  background: boolean,
  forMs?: number,
): Promise<void> {
  const record: AnalysisRecord = { environment, analysis: label, metrics: metrics.map((m) => m.name), phase: 'running' };
  release.status.analyses.push(record);
  const scope = new CancellationScope();
  try {
    await scope.run(() => Promise.all(metrics.map((m) => measureLoop(release, environment, label, m, background, forMs))));
    record.phase = 'successful';
  } catch (err) {
    if (isCancellation(err)) {
      // A background analysis ends when the canary finishes; having never failed, it passed.
      record.phase = background && !release.aborted ? 'successful' : 'cancelled';
    } else {
      record.phase = 'failed';
      record.message = errorMessage(err);
    }
    throw err;
  } finally {
    scope.cancel();
  }
}

async function measureLoop(
  release: Release,
  environment: string,
  label: string,
  metric: MetricSpec,
  background: boolean,
  forMs?: number,
): Promise<void> {
  const tally = new MetricTally(metric);
  const interval = parseDuration(metric.interval);
  const count = forMs ? Math.max(1, Math.floor(forMs / interval)) : metric.count;
  for (let n = 0; background || n < count; n++) {
    if (n > 0) await sleep(interval);
    let value: number | null = null;
    let phase;
    let message: string | undefined;
    try {
      value = (await release.acts.measure.measureMetric({ ...release.ref(environment), metric })).value;
      phase = judge(metric, value);
    } catch (err) {
      if (isCancellation(err)) throw err;
      phase = 'error' as const;
      message = errorMessage(err);
    }
    release.record(release.status.metrics, {
      environment,
      metric: metric.name,
      analysis: label,
      at: new Date().toISOString(),
      value,
      phase,
      message,
      dryRun: metric.dryRun,
    });
    const verdict = tally.record(phase);
    if (verdict) throw ApplicationFailure.nonRetryable(`analysis ${label} in ${environment}: ${verdict}`, ANALYSIS_FAILED);
  }
}

export function describeStep(step: CanaryStep): string {
  if ('setWeight' in step) return `setWeight ${step.setWeight}`;
  if ('pause' in step) return step.pause.duration ? `pause ${step.pause.duration}` : 'pause until resumed';
  if ('analysis' in step) return `analysis ${step.analysis.metrics.join(', ')}${step.analysis.background ? ' (background)' : ''}`;
  if ('fault' in step) return `fault ${[step.fault.delay && `delay ${step.fault.delay.percent}%`, step.fault.abort && `abort ${step.fault.abort.percent}%`].filter(Boolean).join(', ')} for ${step.fault.duration}`;
  return 'approval';
}
