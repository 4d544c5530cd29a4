// releaseWorkflow: one release, start to finish. Only the order of stages lives here.
//   policy gate -> build matrix -> images -> per environment:
//     lease -> approval -> policy gate -> deploy -> health -> canary steps -> promote
//   on failure, abort or rejection: the compensation stack in reverse, non-cancellable.
// Releases recorded before this shape (no `release-v2` marker) run on ../legacy/release-v1.ts.
import { ApplicationFailure, isCancellation, patched, upsertMemo } from '@temporalio/workflow';
import { releaseWorkflowV1 } from '../legacy/release-v1.js';
import { RELEASE_FAILURE_TYPES } from '../messages.js';
import { SA } from '../search-attributes.js';
import type { Outcome, ReleaseInput, ReleaseResult } from '../types.js';
import { finish, summary, unwind } from './finish.js';
import { policyGate, subscribeToFreeze } from './gates.js';
import { installHandlers } from './handlers.js';
import { loadTrust } from './identity.js';
import { Notifier } from './notify.js';
import { buildStage, imageStage } from './stages/build.js';
import { environmentStage } from './stages/environment.js';
import { holdForTrain } from './train-hold.js';
import { ReleaseState } from './state.js';

export const PATCH_RELEASE_V2 = 'release-v2';

export async function releaseWorkflow(input: ReleaseInput): Promise<ReleaseResult> {
  if (!patched(PATCH_RELEASE_V2)) return releaseWorkflowV1(input);
  const r = new ReleaseState(input);
  installHandlers(r);
  const unknown = (input.environments ?? []).filter((n) => !r.spec.environments.some((e) => e.name === n));
  if (unknown.length) throw ApplicationFailure.nonRetryable(`unknown environment(s): ${unknown.join(', ')}`, 'InvalidReleaseInput');
  const notifier = new Notifier(r);
  await loadTrust(r);
  r.upsert([
    { key: SA.service, value: r.spec.service },
    { key: SA.version, value: input.version },
    { key: SA.commit, value: input.commit },
    { key: SA.trigger, value: input.trigger.kind },
    { key: SA.outcome, value: 'running' },
    { key: SA.environment, value: r.status.environments[0] ?? 'none' },
  ]);
  // The release says itself that it takes freezes from the freeze workflow (older ones are signalled directly).
  upsertMemo({ subscribed: r.environments.length > 0 });
  if (r.environments.length) subscribeToFreeze(r);
  else r.freezeKnown = true;
  notifier.notify('started');

  let failure: unknown;
  try {
    await r.mainScope.run(async () => {
      await policyGate(r);
      if (r.spec.build) await buildStage(r);
      if (input.buildOnly) return;
      if (r.spec.image) await imageStage(r);
      for (const env of r.environments) await environmentStage(r, notifier, env);
    });
  } catch (err) {
    failure = err;
  }
  if (failure === undefined && input.train) failure = await holdForTrain(r);

  let outcome: Outcome = 'succeeded';
  if (failure !== undefined) outcome = await unwind(r, notifier, failure);
  await finish(r, notifier, outcome);

  if (outcome === 'succeeded') return r.status;
  if (isCancellation(failure) && !r.abortRequest) throw failure; // cancelled from Temporal: end as Canceled
  const type = RELEASE_FAILURE_TYPES[outcome as keyof typeof RELEASE_FAILURE_TYPES];
  throw ApplicationFailure.create({ type, message: summary(r, outcome), nonRetryable: true, details: [r.status] });
}
