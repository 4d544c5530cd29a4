// The canary step engine: setWeight, pause, analysis (inline or background) and approval steps.
// Every traffic change is read back from the router and is what status reports. A background
// analysis that fails cancels the steps at once, not at the next step boundary.
import { CancellationScope, isCancellation, sleep } from '@temporalio/workflow';
import type { EnvironmentSpec } from '../../../spec/schema.js';
import type { TrafficInput } from '../../../activities/types.js';
import { parseDuration } from '../../../spec/duration.js';
import { describeStep } from '../../../spec/describe-step.js';
import { routeObjectOf } from '../../../spec/router.js';
import { approvalGate, checkpoint, waitForResume } from '../gates.js';
import type { Notifier } from '../notify.js';
import type { ReleaseState } from '../state.js';
import { runAnalysis, startBackgroundAnalysis } from './analysis.js';
import { hostsOf } from './generated.js';
import { runJudge } from './judge.js';

export function trafficOf(r: ReleaseState, env: EnvironmentSpec): TrafficInput {
  const traffic = { ...r.ref(env.name), router: env.canary!.router, namespace: r.namespaceOf(env), kubeContext: env.kubeContext };
  // A generated canary routes by Service (stable host, `<host>-canary`), not by subsets.
  return env.canary!.generate ? { ...traffic, hosts: hostsOf(r, env) } : traffic;
}

export async function runCanary(r: ReleaseState, notifier: Notifier, env: EnvironmentSpec): Promise<void> {
  const canary = env.canary!;
  const traffic = trafficOf(r, env);
  const { steps, workloads, scaling } = canary;
  const vs = routeObjectOf(canary.router); // Istio: the bare VirtualService name, as recorded in histories

  // Pushed first so it runs last: traffic goes back to stable before the canary loses its pods. Its
  // replica count is filled in by the first scale (what the canary had before); 0 until then.
  const replicasUndo = scaling && workloads
    ? r.saga.push(`scale ${workloads.canary} back to its replicas before the canary`, env.name, { activity: 'restoreReplicas', input: { ...traffic, deployment: workloads.canary, replicas: 0 } })
    : undefined;
  const replicasFor = (weight: number) =>
    !scaling || weight === 0 ? 0 : scaling.mode === 'fixed' ? scaling.replicas : Math.max(1, Math.ceil((scaling.replicas * weight) / 100));
  const scaleTo = async (replicas: number) => {
    const { previous } = await r.acts.mutate().scaleCanary({ ...traffic, deployment: workloads!.canary, replicas });
    if (!r.canaryReplicasBefore.has(env.name)) {
      r.canaryReplicasBefore.set(env.name, previous);
      if (replicasUndo) r.saga.amend(replicasUndo, { input: { ...traffic, deployment: workloads!.canary, replicas: previous } });
    }
  };

  // Record the starting weights before the first change, so the undo restores exactly them.
  const initial = await r.acts.read.getTrafficWeights(traffic);
  r.saga.push(`restore ${vs} traffic to stable ${initial.stable} / canary ${initial.canary}`, env.name, { activity: 'restoreTraffic', input: { ...traffic, weights: initial } });
  r.setCanaryWeight(env.name, initial.canary, 'starting', 0, steps.length);
  // This route's weight as last read back. Not status.canary: the clusters of a wave run their
  // canaries at once and share it (for one environment the two are always the same value).
  let current = initial.canary;

  const stepsScope = new CancellationScope();
  const background: { done: Promise<void>; stop: () => Promise<void> }[] = [];
  let backgroundFailure: unknown;
  try {
    await stepsScope.run(async () => {
      for (let i = 0; i < steps.length; i++) {
        await checkpoint(r);
        const step = steps[i];
        r.setCanaryWeight(env.name, current, describeStep(step), i, steps.length);
        if ('setWeight' in step) {
          const before = current;
          const scale = () => scaleTo(replicasFor(step.setWeight));
          // Capacity before traffic on the way up, traffic before capacity on the way down.
          if (scaling && workloads && step.setWeight >= before) await scale();
          const applied = await r.acts.mutate().setTrafficWeight({ ...traffic, weight: step.setWeight });
          if (scaling && workloads && step.setWeight < before) await scale();
          current = applied.canary;
          r.setCanaryWeight(env.name, applied.canary, describeStep(step), i, steps.length);
          notifier.notify('canary-step', env.name, { step: i + 1, steps: steps.length, weight: applied.canary });
        } else if ('pause' in step) {
          if (step.pause.duration) await sleep(parseDuration(step.pause.duration));
          else await waitForResume(r);
        } else if ('analysis' in step) {
          const metrics = step.analysis.metrics.map((name) => canary.metrics.find((m) => m.name === name)!);
          if (step.analysis.background) {
            const bg = await startBackgroundAnalysis(r, env.name, `background-from-step-${i + 1}`, metrics);
            background.push(bg);
            bg.done.catch((err) => {
              if (isCancellation(err) || backgroundFailure !== undefined) return;
              backgroundFailure = err;
              stepsScope.cancel();
            });
          } else {
            await runAnalysis(r, env.name, `step-${i + 1}`, metrics);
          }
        } else if ('fault' in step) {
          const { delay, abort, duration, metrics: names } = step.fault;
          const undo = r.saga.push(`remove the fault from ${vs}`, env.name, { activity: 'clearFault', input: traffic });
          await r.acts.mutate().setFault({ ...traffic, fault: { delay, abort } });
          const metrics = names.map((name) => canary.metrics.find((m) => m.name === name)!);
          await runAnalysis(r, env.name, `fault-step-${i + 1}`, metrics, parseDuration(duration));
          await r.acts.mutate().setFault({ ...traffic, fault: null });
          r.saga.resolve(undo);
        } else if ('judge' in step) {
          await runJudge(r, notifier, env, step.judge, i);
        } else {
          const own = step.approval;
          const base = env.approval;
          await approvalGate(r, notifier, `${env.name}/canary/step-${i + 1}`, env.name, {
            approvers: own.approvers ?? base?.approvers ?? [],
            required: own.required ?? base?.required ?? 1,
            timeout: own.timeout ?? base?.timeout ?? '24h',
            fourEyes: own.fourEyes ?? base?.fourEyes ?? false,
          });
        }
      }
    });
  } catch (err) {
    if (backgroundFailure !== undefined && isCancellation(err) && !r.aborted) throw backgroundFailure;
    throw err;
  } finally {
    // Background analyses end with the canary; having never failed, they passed.
    await Promise.all(background.map((b) => b.stop()));
    await CancellationScope.nonCancellable(() => Promise.all(background.map((b) => b.done.catch(() => undefined))));
  }
  if (backgroundFailure !== undefined) throw backgroundFailure;
}
