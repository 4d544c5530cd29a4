// The rollout of one environment (or one cluster of it): deploy -> health -> canary -> promote.
// environment.ts runs it once per environment, waves.ts once per cluster on a per-cluster view.
import type { ImageRef } from '../../../activities/types.js';
import type { EnvironmentSpec } from '../../../spec/schema.js';
import type { Notifier } from '../notify.js';
import type { ReleaseState } from '../state.js';
import { runCanary } from './canary.js';
import { deployStage, healthStage } from './deploy.js';
import { promoteStage } from './promote.js';

/** `commit: false` leaves the undos pending after promotion (waves: until the last wave passed). */
export async function rollout(r: ReleaseState, notifier: Notifier, env: EnvironmentSpec, image: ImageRef | null, opts: { commit?: boolean } = {}): Promise<void> {
  await deployStage(r, env, image);
  await healthStage(r, notifier, env, image);
  // The first release of a generated canary installed the stable itself: there is nothing to compare.
  if (env.canary && r.generated.get(env.name) !== 'first-install') {
    r.setStage('canary', env.name);
    await runCanary(r, notifier, env);
    r.closeStage('ok');
  }
  await promoteStage(r, env, image, opts);
}
