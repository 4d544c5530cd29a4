// Benchmark: verified webhooks per second and webhook-to-workflow-started latency through the
// gateway on loopback, beside a bare client.workflow.start loop in the same run (ratio = gateway
// overhead: HTTP, signature check, routing, spec handling).
import { randomBytes } from 'node:crypto';
import { ShipyardClient } from '../client/index.js';
import { twoEnvSpec } from '../test/helpers/specs.js';
import { gatewayConfig, genericHeaders, send, startGateway } from '../test/helpers/gateway.js';
import { connectClient, settings, uniqueName, uniqueQueues } from '../test/helpers/temporal.js';

const N = Number(process.env.BENCH_WEBHOOKS || 300);
const CONCURRENCY = 8;

function pct(samples: number[], p: number): number {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function main() {
  const ctx = await connectClient();
  const queues = uniqueQueues('bench-gw');
  const shipyard = new ShipyardClient(ctx.client, settings(), queues);
  const gw = await startGateway(shipyard, gatewayConfig(twoEnvSpec({ service: uniqueName('benchgw') })));
  const webhook = async () => {
    const body = JSON.stringify({ event: 'push', repo: 'acme/hello-api', ref: 'refs/heads/main', commit: randomBytes(20).toString('hex') });
    const t = performance.now();
    const res = await send(`${gw.url}/webhooks/generic`, body, genericHeaders(body));
    if (res.status !== 202 || res.body.status !== 'started') throw new Error(`unexpected ${res.status} ${res.text}`);
    return performance.now() - t;
  };
  const bare = async () => {
    const t = performance.now();
    await ctx.client.workflow.start('emptyWorkflow', { taskQueue: queues.orchestrator, workflowId: `bench-${randomBytes(8).toString('hex')}`, args: [] });
    return performance.now() - t;
  };
  for (let i = 0; i < 20; i++) await webhook(); // warm-up
  const gwLat: number[] = [];
  const bareLat: number[] = [];
  for (let i = 0; i < N; i++) {
    gwLat.push(await webhook());
    bareLat.push(await bare());
  }
  const throughput = async (fn: () => Promise<number>) => {
    const t = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < N) await fn();
    }));
    return N / ((performance.now() - t) / 1000);
  };
  const gwRate = await throughput(webhook);
  const bareRate = await throughput(bare);
  console.log(`webhook -> workflow started, ${N} sequential each (ms):`);
  console.log(`  gateway (HTTP + HMAC + routing + start)  p50 ${pct(gwLat, 50).toFixed(2)}  p99 ${pct(gwLat, 99).toFixed(2)}`);
  console.log(`  bare client.workflow.start               p50 ${pct(bareLat, 50).toFixed(2)}  p99 ${pct(bareLat, 99).toFixed(2)}`);
  console.log(`  ratio                                    p50 ${(pct(gwLat, 50) / pct(bareLat, 50)).toFixed(2)}x  p99 ${(pct(gwLat, 99) / pct(bareLat, 99)).toFixed(2)}x`);
  console.log(`throughput with ${CONCURRENCY} concurrent senders:`);
  console.log(`  gateway ${gwRate.toFixed(0)} verified webhooks/s, bare ${bareRate.toFixed(0)} starts/s (${(gwRate / bareRate).toFixed(2)}x)`);
  await gw.close();
  await ctx.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
