// Benchmark: webhook -> release started through the gateway, beside a bare client.workflow.start of an
// empty workflow, against the same dev server in the same run (ratios are the gateway's overhead:
// HTTP, signature check, routing, the release's input/search attributes/memo).
// Topology, as in production: the gateway is its own process (dist/client/gateway/main.js, the entry
// `npm start` and the container run; JSON request logs on, written to /dev/null here), on the SDK's
// native connection (its default), with a second one on grpc-js measured beside it. The senders
// (playing the git host) and the bare client run in this process; senders use node:http keep-alive.
// For reference the same gateway also runs inside this process (senders, HTTP server and gRPC client
// on one event loop), and a floor: a process with a bare node:http server that only does the bare
// start per request (no framework, signature, routing, logging or release input), i.e. what any
// separate gateway process costs at least. Numbers are printed, never asserted.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Agent, createServer, request } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { ShipyardClient } from '../client/index.js';
import { twoEnvSpec } from '../test/helpers/specs.js';
import { genericHeaders, SECRETS, startGateway, gatewayConfig } from '../test/helpers/gateway.js';
import { connectClient, settings, uniqueName, uniqueQueues } from '../test/helpers/temporal.js';
import { freePort } from '../test/helpers/net.js';
import { cpuSeconds } from '../test/helpers/proc.js';

const N = Number(process.env.BENCH_WEBHOOKS || 300);
const CONCURRENCY = 8;
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function pct(samples: number[], p: number): number {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/** POSTs a body over a kept-alive connection; resolves with status and parsed JSON answer. */
function post(url: URL, body: string, headers: Record<string, string>): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The gateway as its own process, routing acme/* pushes on main to `spec` (queues via SHIPYARD_*_QUEUE). */
async function gatewayProcess(configPath: string, queues: { orchestrator: string }, extraEnv: Record<string, string> = {}): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [fileURLToPath(new URL('../client/gateway/main.js', import.meta.url))], {
    env: { ...process.env, ...SECRETS, SHIPYARD_GATEWAY_CONFIG: configPath, SHIPYARD_GATEWAY_PORT: String(port), SHIPYARD_ORCHESTRATOR_QUEUE: queues.orchestrator, ...extraEnv },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
    if (child.exitCode !== null) throw new Error(`gateway process exited ${child.exitCode}`);
    const up = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
    if (up) return { url, child };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error('gateway process did not become ready in 30 s');
}

/** CPU time (user + system, ms) a process has used so far, from /proc (Linux; 0 elsewhere). */
function processCpuMs(pid: number | undefined): number {
  try {
    return pid === undefined ? 0 : cpuSeconds(pid) * 1000;
  } catch {
    return 0;
  }
}

/** The floor: `node gateway.js floor-server PORT QUEUE` answers every POST after one bare start. */
async function floorServer(port: number, taskQueue: string) {
  const ctx = await connectClient();
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      ctx.client.workflow.start('emptyWorkflow', { taskQueue, workflowId: `bench-floor-${randomBytes(8).toString('hex')}`, args: [] }).then(
        () => res.writeHead(202, { 'content-type': 'application/json' }).end('{"status":"started"}'),
        (err: Error) => res.writeHead(503).end(JSON.stringify({ error: err.message })),
      );
    });
  });
  server.listen(port, '127.0.0.1', () => process.send?.('listening'));
}

async function floorProcess(taskQueue: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = fork(fileURLToPath(import.meta.url), ['floor-server', String(port), taskQueue], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`floor process exited ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

async function main() {
  const ctx = await connectClient();
  const queues = uniqueQueues('bench-gw');
  const shipyard = new ShipyardClient(ctx.client, settings(), queues);
  const spec = twoEnvSpec({ service: uniqueName('benchgw') });
  const config = gatewayConfig(spec);
  // The same config as a file, for the gateway process.
  const dir = mkdtempSync(join(tmpdir(), 'bench-gw-'));
  writeFileSync(join(dir, 'release.yaml'), stringify(spec));
  const configPath = join(dir, 'gateway.yaml');
  writeFileSync(configPath, stringify({
    secrets: { generic: [{ env: 'GENERIC_SECRET' }] },
    routes: [{ name: 'main', repo: 'acme/*', event: 'push', branch: 'main', spec: 'release.yaml', environments: ['staging'] }],
  }));
  const child = await gatewayProcess(configPath, queues);
  // The same gateway on the SDK's grpc-js connection instead of the native one (its default).
  const childJs = await gatewayProcess(configPath, queues, { SHIPYARD_GATEWAY_CONNECTION: 'grpc-js' });
  const floor = await floorProcess(queues.orchestrator);
  const inProcess = await startGateway(shipyard, config);

  const webhook = (base: string, commit?: string, expect = 'started') => async () => {
    const body = JSON.stringify({ event: 'push', repo: 'acme/hello-api', ref: 'refs/heads/main', commit: commit ?? randomBytes(20).toString('hex') });
    const t = performance.now();
    const res = await post(new URL('/webhooks/generic', base), body, genericHeaders(body));
    if (res.status !== 202 || res.body.status !== expect) throw new Error(`unexpected ${res.status} ${JSON.stringify(res.body)}`);
    return performance.now() - t;
  };
  const bare = async () => {
    const t = performance.now();
    await ctx.client.workflow.start('emptyWorkflow', { taskQueue: queues.orchestrator, workflowId: `bench-${randomBytes(8).toString('hex')}`, args: [] });
    return performance.now() - t;
  };
  const gw = webhook(child.url);
  const gwJs = webhook(childJs.url);
  const floorHop = async () => {
    const t = performance.now();
    const res = await post(new URL('/', floor.url), '{}', { 'content-type': 'application/json' });
    if (res.status !== 202) throw new Error(`floor: ${res.status} ${JSON.stringify(res.body)}`);
    return performance.now() - t;
  };
  const gwIn = webhook(inProcess.url);
  // A redelivery of a release that is running: attaches (one start RPC, answered 'existing').
  const runningCommit = randomBytes(20).toString('hex');
  await webhook(child.url, runningCommit)();
  const redelivery = webhook(child.url, runningCommit, 'existing');

  for (let i = 0; i < 20; i++) await Promise.all([gw(), gwJs(), gwIn(), bare(), redelivery(), floorHop()]); // warm-up
  const lat = { gw: [] as number[], gwJs: [] as number[], gwIn: [] as number[], bare: [] as number[], redelivery: [] as number[], floor: [] as number[] };
  // Interleaved, so all see the same server state and machine load.
  for (let i = 0; i < N; i++) {
    lat.gw.push(await gw());
    lat.bare.push(await bare());
    lat.gwJs.push(await gwJs());
    lat.gwIn.push(await gwIn());
    lat.redelivery.push(await redelivery());
    lat.floor.push(await floorHop());
  }
  // CPU (ms) used per request: this process (senders, bare client) and the gateway process.
  const cpu = { gw: { self: 0, gateway: 0 }, gwJs: { self: 0, gateway: 0 }, bare: { self: 0, gateway: 0 }, gwIn: { self: 0, gateway: 0 }, floor: { self: 0, gateway: 0 } };
  const throughput = async (name: keyof typeof cpu, fn: () => Promise<number>) => {
    const pid = name === 'gwJs' ? childJs.child.pid : child.child.pid;
    const c0 = process.cpuUsage();
    const g0 = processCpuMs(pid);
    const t = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < N) await fn();
    }));
    const rate = N / ((performance.now() - t) / 1000);
    const c1 = process.cpuUsage(c0);
    cpu[name].self += (c1.user + c1.system) / 1000 / N / 2;
    cpu[name].gateway += (processCpuMs(pid) - g0) / N / 2;
    return rate;
  };
  // Two alternating rounds each; the rate is the mean of the two.
  const rates = { gw: 0, gwJs: 0, bare: 0, gwIn: 0, floor: 0 };
  for (let round = 0; round < 2; round++) {
    rates.gw += (await throughput('gw', gw)) / 2;
    rates.bare += (await throughput('bare', bare)) / 2;
    rates.gwJs += (await throughput('gwJs', gwJs)) / 2;
    rates.gwIn += (await throughput('gwIn', gwIn)) / 2;
    rates.floor += (await throughput('floor', floorHop)) / 2;
  }
  const row = (label: string, s: number[]) =>
    `  ${label.padEnd(44)} p50 ${pct(s, 50).toFixed(2).padStart(6)}  p99 ${pct(s, 99).toFixed(2).padStart(6)}  ratio p50 ${(pct(s, 50) / pct(lat.bare, 50)).toFixed(2)}x  p99 ${(pct(s, 99) / pct(lat.bare, 99)).toFixed(2)}x`;
  console.log(`webhook -> release started, ${N} sequential each, interleaved (ms; ratio to the bare start):`);
  console.log(`  ${'bare client.workflow.start (empty workflow)'.padEnd(44)} p50 ${pct(lat.bare, 50).toFixed(2).padStart(6)}  p99 ${pct(lat.bare, 99).toFixed(2).padStart(6)}`);
  console.log(row('gateway process (HTTP+HMAC+route+start)', lat.gw));
  console.log(row('gateway process, grpc-js connection', lat.gwJs));
  console.log(row('gateway process, redelivery (attach)', lat.redelivery));
  console.log(row('gateway in the sender process (reference)', lat.gwIn));
  console.log(row('floor: node:http process, bare start only', lat.floor));
  console.log(`throughput with ${CONCURRENCY} concurrent senders (${N} each, mean of 2 rounds):`);
  console.log(`  bare ${rates.bare.toFixed(0)} starts/s`);
  console.log(`  gateway process ${rates.gw.toFixed(0)} verified webhooks/s (${(rates.gw / rates.bare).toFixed(2)}x)`);
  console.log(`  gateway process, grpc-js connection ${rates.gwJs.toFixed(0)} verified webhooks/s (${(rates.gwJs / rates.bare).toFixed(2)}x)`);
  console.log(`  gateway in the sender process ${rates.gwIn.toFixed(0)} verified webhooks/s (${(rates.gwIn / rates.bare).toFixed(2)}x, reference)`);
  console.log(`  floor (node:http process, bare start only) ${rates.floor.toFixed(0)}/s (${(rates.floor / rates.bare).toFixed(2)}x)`);
  console.log(`CPU per request during those runs (ms): bare start ${cpu.bare.self.toFixed(2)} client; gateway process ${cpu.gw.gateway.toFixed(2)} gateway (native connection) + ${cpu.gw.self.toFixed(2)} senders, ${cpu.gwJs.gateway.toFixed(2)} on grpc-js; in-process ${cpu.gwIn.self.toFixed(2)} senders+gateway`);
  agent.destroy();
  await inProcess.close();
  child.child.kill('SIGTERM');
  childJs.child.kill('SIGTERM');
  floor.child.kill('SIGTERM');
  await ctx.close();
}

const run = process.argv[2] === 'floor-server' ? floorServer(Number(process.argv[3]), process.argv[4]) : main();
run.catch((err) => {
  console.error(err);
  process.exit(1);
});
