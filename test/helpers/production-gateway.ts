// A production-mode gateway for identity tests: a real Dex, the real gateway signing decision
// statements with a fresh Ed25519 key, the orchestrator's matching trust (signed decisions required)
// and a signer that plays the gateway for statements it would never sign (replays, other targets).
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { ShipyardClient } from '../../client/index.js';
import { createStatementSigner } from '../../client/auth/statement-signer.js';
import { publicJwk } from '../../config/decision-keys.js';
import type { ReleaseSpec } from '../../spec/schema.js';
import type { DecisionTrust } from '../../workflows/decision-statement.js';
import { startDex, type Dex } from './dex.js';
import { gatewayConfig, identitySection, SECRETS, startGateway, type RunningGateway } from './gateway.js';
import { settings } from './temporal.js';

export interface ProductionGateway {
  dex: Dex;
  shipyard: ShipyardClient;
  gw: RunningGateway;
  privateKey: KeyObject;
  trust: DecisionTrust;
  gatewayKey: ReturnType<typeof createStatementSigner>;
  /** POSTs JSON to the gateway with the user's Dex ID token. */
  post(user: string, path: string, body?: object): Promise<{ status: number; body: Record<string, any> }>;
  close(): Promise<void>;
}

export async function startProductionGateway(queues: ConstructorParameters<typeof ShipyardClient>[2], spec: ReleaseSpec): Promise<ProductionGateway> {
  const { privateKey } = generateKeyPairSync('ed25519');
  const dex = await startDex();
  const shipyard = new ShipyardClient((await ShipyardClient.connect(settings())).client, settings(), queues);
  const config = gatewayConfig(spec, { identity: identitySection({ issuer: dex.issuer, audience: dex.clientId }, privateKey) });
  const gw = await startGateway(shipyard, config, { env: { ...SECRETS, SHIPYARD_MODE: 'production' } });
  return {
    dex,
    shipyard,
    gw,
    privateKey,
    trust: { requireSigned: true, keys: [{ kid: 'k1', x: publicJwk(privateKey, 'k1').x }] },
    gatewayKey: createStatementSigner({ key: privateKey, kid: 'k1' }),
    async post(user, path, body = {}) {
      const res = await fetch(`${gw.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${await dex.token(user)}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    },
    async close() {
      await gw.close();
      await shipyard.close();
      await dex.stop();
    },
  };
}
