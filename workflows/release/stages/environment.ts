// One environment of a release: lease -> approval -> policy -> image -> deploy -> health -> canary -> promote.
import { ApplicationFailure, isCancellation, patched } from '@temporalio/workflow';
import type { EnvironmentSpec } from '../../../spec/schema.js';
import { environmentPolicyViolation } from '../../policy.js';
import { SA } from '../../search-attributes.js';
import { acquireLease, approvalGate, checkpoint, policyGate } from '../gates.js';
import type { Notifier } from '../notify.js';
import type { ReleaseState } from '../state.js';
import { environmentImage } from './build.js';
import { rollout } from './rollout.js';
import { acquireClusterLeases, runWaves } from './waves.js';

/** Releases from before this check replay without it. */
export const PATCH_VERIFY_REF = 'verify-ref';

export async function environmentStage(r: ReleaseState, notifier: Notifier, env: EnvironmentSpec): Promise<void> {
  r.status.environment = env.name;
  r.upsert([{ key: SA.environment, value: env.name }]);
  const violation = environmentPolicyViolation(r.spec.policy, env.name, r.input.trigger);
  if (violation) {
    r.setStage('policy', env.name);
    throw ApplicationFailure.nonRetryable(`policy: ${violation}`, 'PolicyDenied');
  }
  // The ref is the trigger's claim: with allowedRefs, the repository must say it names this commit.
  const trigger = r.input.trigger;
  if (r.spec.policy.environments?.[env.name]?.allowedRefs && trigger.ref && patched(PATCH_VERIFY_REF)) {
    r.setStage('policy', env.name, `verify ${trigger.ref}`);
    try {
      await r.acts.build.verifyRef({ ...r.ref(env.name), repo: r.spec.source.repo, ref: trigger.ref });
    } catch (err) {
      if (isCancellation(err)) throw err;
      throw ApplicationFailure.nonRetryable(`policy: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`, 'PolicyDenied');
    }
    r.closeStage('ok', `${trigger.ref} is ${r.input.commit.slice(0, 12)}`);
  }
  // Held from before the approval: a second release of this environment queues behind it.
  // With clusters, one lease per cluster (waves.ts); only specs with clusters take that path.
  if (env.clusters) await acquireClusterLeases(r, env);
  else await acquireLease(r, env);
  if (env.approval) {
    await checkpoint(r);
    r.setStage('approval', env.name);
    await approvalGate(r, notifier, `${env.name}/approval`, env.name, env.approval);
    r.closeStage('ok');
  }
  await policyGate(r, env.name);
  const image = await environmentImage(r, env);
  if (env.clusters) return runWaves(r, notifier, env, image);
  await rollout(r, notifier, env, image);
}
