// Benchmark: workflow start latency through the Shipyard client vs a bare client.workflow.start of
// an empty workflow, measured side by side in one run; and orchestration overhead per canary step
// with instant (MOCKED) activities and no pauses. `npm run bench` starts a dev server for it.
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import { FakeWorld } from '../test/helpers/fake-activities.js';
import { twoEnvSpec } from '../test/helpers/specs.js';
import { connectClient, quietRuntime, temporalAddress, uniqueName, uniqueQueues, withWorkers } from '../test/helpers/temporal.js';

const STARTS = Number(process.env.BENCH_STARTS || 200);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function summary(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p99: percentile(s, 99), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

async function main() {
  const ctx = await connectClient();
  const spec = twoEnvSpec({ service: uniqueName('bench') });
  const idle = uniqueQueues('bench-idle'); // nobody polls: only the start is measured
  const shipyard: number[] = [];
  const bare: number[] = [];
  // Interleaved, so both see the same server state and machine load.
  for (let i = 0; i < STARTS; i++) {
    let t = performance.now();
    await ctx.shipyard.start({ spec, commit: randomBytes(20).toString('hex'), trigger: { kind: 'api', by: 'bench' }, taskQueues: idle });
    shipyard.push(performance.now() - t);
    t = performance.now();
    await ctx.client.workflow.start('emptyWorkflow', { taskQueue: idle.orchestrator, workflowId: `bench-empty-${randomBytes(8).toString('hex')}`, args: [] });
    bare.push(performance.now() - t);
  }
  const s = summary(shipyard);
  const b = summary(bare);
  console.log(`workflow start latency over ${STARTS} starts each (ms):`);
  console.log(`  shipyard client  p50 ${s.p50.toFixed(2)}  p99 ${s.p99.toFixed(2)}`);
  console.log(`  bare start       p50 ${b.p50.toFixed(2)}  p99 ${b.p99.toFixed(2)}`);
  console.log(`  ratio            p50 ${(s.p50 / b.p50).toFixed(2)}x  p99 ${(s.p99 / b.p99).toFixed(2)}x`);

  // Per-step overhead: the same canary with 1 step and with 41 steps; the difference / 40.
  const timeCanary = async (steps: number) => {
    const world = new FakeWorld();
    const canarySteps = Array.from({ length: steps }, (_, i) => ({ setWeight: Math.round(((i + 1) * 100) / steps) }));
    const spec = twoEnvSpec({ service: uniqueName('benchsteps'), withBuild: false, canarySteps, notify: [] });
    const queues = uniqueQueues('bench');
    return withWorkers(queues, world.activities(), async () => {
      const { releaseId } = await ctx.shipyard.start({ spec, commit: randomBytes(20).toString('hex'), environments: ['production'], trigger: { kind: 'api', by: 'bench' }, taskQueues: queues });
      const final = await ctx.shipyard.wait(releaseId, undefined, 20);
      const canary = final.status!.stages.find((st) => st.stage === 'canary')!;
      return Date.parse(canary.endedAt!) - Date.parse(canary.startedAt);
    });
  };
  await timeCanary(1); // warm-up
  const one = await timeCanary(1);
  const many = await timeCanary(41);
  // Baseline: a bare workflow doing 41 vs 1 no-op activity round trips on the same server.
  quietRuntime();
  const connection = await NativeConnection.connect({ address: temporalAddress() });
  const taskQueue = uniqueName('bench-bare');
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowsPath: fileURLToPath(new URL('./workflows.js', import.meta.url)),
    activities: { noop: async () => undefined },
  });
  const running = worker.run();
  const bareRun = async (n: number) => {
    const t = performance.now();
    await ctx.client.workflow.execute('sequentialActivities', { taskQueue, workflowId: uniqueName('bench-seq'), args: [n] });
    return performance.now() - t;
  };
  await bareRun(1);
  const bareOne = await bareRun(1);
  const bareMany = await bareRun(41);
  worker.shutdown();
  await running;
  await connection.close();
  const perStep = (many - one) / 40;
  const perActivity = (bareMany - bareOne) / 40;
  console.log(`canary orchestration overhead (instant activities, no pauses):`);
  console.log(`  shipyard canary    1 step: ${one} ms, 41 steps: ${many} ms  =>  ${perStep.toFixed(1)} ms per step`);
  console.log(`  bare workflow      1 activity: ${bareOne.toFixed(0)} ms, 41: ${bareMany.toFixed(0)} ms  =>  ${perActivity.toFixed(1)} ms per activity round trip`);
  console.log(`  ratio              ${(perStep / perActivity).toFixed(2)}x a bare activity round trip per step`);
  await ctx.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
