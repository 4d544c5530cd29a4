// One environment of a release: lease -> approval -> policy -> image -> deploy -> health -> canary -> promote.
import { ApplicationFailure } from '@temporalio/workflow';
import type { EnvironmentSpec } from '../../../spec/schema.js';
import { environmentPolicyViolation } from '../../policy.js';
import { SA } from '../../search-attributes.js';
import { acquireLease, approvalGate, checkpoint, policyGate } from '../gates.js';
import type { Notifier } from '../notify.js';
import type { ReleaseState } from '../state.js';
import { environmentImage } from './build.js';
import { runCanary } from './canary.js';
import { deployStage, healthStage } from './deploy.js';
import { promoteStage } from './promote.js';

export async function environmentStage(r: ReleaseState, notifier: Notifier, env: EnvironmentSpec): Promise<void> {
  r.status.environment = env.name;
  r.upsert([{ key: SA.environment, value: env.name }]);
  const violation = environmentPolicyViolation(r.spec.policy, env.name, r.input.trigger);
  if (violation) {
    r.setStage('policy', env.name);
    throw ApplicationFailure.nonRetryable(`policy: ${violation}`, 'PolicyDenied');
  }
  // Held from before the approval: a second release of this environment queues behind it.
  await acquireLease(r, env);
  if (env.approval) {
    await checkpoint(r);
    r.setStage('approval', env.name);
    await approvalGate(r, notifier, `${env.name}/approval`, env.name, env.approval);
    r.closeStage('ok');
  }
  await policyGate(r, env.name);
  const image = await environmentImage(r, env);
  await deployStage(r, env, image);
  await healthStage(r, notifier, env, image);
  // The first release of a generated canary installed the stable itself: there is nothing to compare.
  if (env.canary && r.generated.get(env.name) !== 'first-install') {
    r.setStage('canary', env.name);
    await runCanary(r, notifier, env);
    r.closeStage('ok');
  }
  await promoteStage(r, env, image);
}
