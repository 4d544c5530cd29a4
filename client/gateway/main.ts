// The gateway process: `node dist/client/gateway/main.js` (npm start runs it too).
//   SHIPYARD_GATEWAY_CONFIG  gateway config file (default examples/gateway.yaml)
//   SHIPYARD_GATEWAY_HOST / SHIPYARD_GATEWAY_PORT  override the config's listen address
//   SHIPYARD_MODE=production  refuse to start with settings that are only warned about in development
//                             (Feishu token-only callbacks)
// Temporal settings are the usual TEMPORAL_* variables; the gateway starts even while Temporal is
// down (it answers 503 + Retry-After until it is back).
//   SHIPYARD_GATEWAY_CONNECTION=grpc-js  use the SDK's grpc-js connection instead of its native (Rust
//                             core) one, which costs less CPU per start (bench/gateway.ts)
import { fileURLToPath } from 'node:url';
import { ShipyardClient } from '../index.js';
import { loadGatewayConfig } from './config.js';
import { buildGateway } from './server.js';

const DEFAULT_CONFIG = fileURLToPath(new URL('../../../examples/gateway.yaml', import.meta.url));

async function main() {
  const path = process.env.SHIPYARD_GATEWAY_CONFIG || DEFAULT_CONFIG;
  const config = loadGatewayConfig(path);
  const host = process.env.SHIPYARD_GATEWAY_HOST || config.listen.host;
  const port = process.env.SHIPYARD_GATEWAY_PORT ? Number(process.env.SHIPYARD_GATEWAY_PORT) : config.listen.port;
  const shipyard = ShipyardClient.lazy(undefined, undefined, process.env.SHIPYARD_GATEWAY_CONNECTION === 'grpc-js' ? 'grpc-js' : 'native');
  const { app } = await buildGateway({ config, shipyard });
  const shutdown = async () => {
    await app.close();
    await shipyard.close().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  await app.listen({ host, port });
  app.log.info({ config: path, routes: config.loadedRoutes.length }, `shipyard gateway listening on http://${host}:${port}`);
}

main().catch((err) => {
  console.error(`shipyard gateway: ${err.message}`);
  process.exit(1);
});
