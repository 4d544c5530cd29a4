// Abort, pause or resume a release for a caller the gateway has checked: the statement signed for
// exactly that release and action (when signing keys are configured), then the release's control
// update through the Temporal guard. The decision API and the Alertmanager receiver both send
// controls through here, so the release records them the same way.
import type { ShipyardClient } from '../index.js';
import type { ControlReply } from '../../workflows/types.js';
import type { Caller, GatewayIdentity } from './identity.js';
import type { TemporalGuard } from './temporal-guard.js';

export interface ControlDeps {
  shipyard: ShipyardClient;
  guard: TemporalGuard;
  identity: GatewayIdentity;
}

export async function sendControl(deps: ControlDeps, caller: Caller, releaseId: string, action: 'abort' | 'pause' | 'resume', reason?: string): Promise<ControlReply> {
  const statement = await deps.identity.statement(caller, { rel: releaseId, act: action, ...(reason ? { reason } : {}) });
  return deps.guard.call(() => deps.shipyard.control(releaseId, { action, by: caller.identity, reason, ...(statement ? { statement } : {}) }));
}
