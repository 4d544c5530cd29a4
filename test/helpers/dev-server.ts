// Extra Temporal dev servers for tests that stop and restart one (scripts/dev-server.js does the work).
import { fileURLToPath } from 'node:url';

export interface DevServer {
  address: string;
  port: number;
  stop(): Promise<void>;
}

export async function startDevServer(opts: { port?: number; logFile?: string } = {}): Promise<DevServer> {
  // scripts/ is plain JavaScript outside the compiled tree: import it by its path at run time.
  const url = new URL('../../../scripts/dev-server.js', import.meta.url).href;
  const mod = (await import(url)) as { startDevServer(o: object): Promise<DevServer> };
  return mod.startDevServer({ logFile: fileURLToPath(new URL('../../../.data/test-temporal-extra.log', import.meta.url)), ...opts });
}
