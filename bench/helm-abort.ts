// Benchmark: an abort while `helm upgrade --atomic --wait` runs — from cancelling the helmDeploy
// activity (which kills helm and leaves the release pending-upgrade) to helm being back at the previous
// revision — with the interrupted rollback (acts at once on the revision its own killed helm left)
// side by side with the settle path (waits helm --timeout + 30 s for an operation nobody runs, then
// rolls back), in one run, on the local cluster with the real helm. Needs the local control plane:
// BENCH_CLUSTER=1 makes scripts/run-bench.js start one; without KUBECONFIG it says so and skips.
// BENCH_HELM_TIMEOUT sets helm --timeout (default 15s; the spec's default is 5m).
import { execFileSync } from 'node:child_process';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { helmDeploy, helmRollback } from '../activities/deploy/helm.js';
import type { HelmInput, UndoResult } from '../activities/types.js';
import { parseDuration } from '../spec/duration.js';
import { helmHistory, helmSpec, namespace } from '../test/helpers/cluster.js';

const TIMEOUT = process.env.BENCH_HELM_TIMEOUT || '15s';
const ref = { releaseId: 'release/bench/all/abc1234', attempt: 'bench', service: 'bench', version: 'v2', commit: 'abc1234', environment: 'bench' };
const image = (tag: string) => ({ repository: 'registry.local/bench', tag, digest: `sha256:${'d'.repeat(64)}`, platforms: ['linux/amd64'] });

// The cancelled activity's expected failure would be logged as a warning: errors only.
const activityEnv = () => new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });

const manifest = (ns: string, revision?: number) =>
  execFileSync('helm', ['get', 'manifest', 'web', '-n', ns, ...(revision ? ['--revision', String(revision)] : [])], { encoding: 'utf8' });

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Installs revision 1, aborts an upgrade that never gets ready mid --wait, and times the undo. */
async function abortAndUndo(interrupted: boolean): Promise<{ cancelS: number; undoS: number; totalS: number; result: UndoResult }> {
  const ns = await namespace('bench-helm');
  const spec = helmSpec('web', ns, { timeout: TIMEOUT });
  await activityEnv().run(helmDeploy, { ...ref, version: 'v1', helm: spec, image: image('v1') });
  const before = manifest(ns, 1);
  const upgrade: HelmInput = { ...ref, helm: { ...spec, values: { nodeSelector: { pool: 'does-not-exist' } } }, image: image('v2') };
  const env = activityEnv();
  const deploying = env.run(helmDeploy, upgrade).then(() => new Error('the upgrade must not become ready'), (err: Error) => err);
  await until(() => helmHistory('web', ns).at(-1)?.status === 'pending-upgrade', 'pending-upgrade');
  await new Promise((r) => setTimeout(r, 1000)); // helm is in --wait
  const cancelled = Date.now();
  env.cancel();
  const err = await deploying;
  if (!/cancelled/.test(err.message)) throw err;
  const stopped = Date.now();
  const result = (await activityEnv().run(helmRollback, { ...ref, helm: spec, toRevision: 1, interrupted })) as UndoResult;
  const back = Date.now();
  if (result.result !== 'undone' || manifest(ns) !== before) throw new Error(`not back at revision 1: ${JSON.stringify(result)}`);
  return { cancelS: (stopped - cancelled) / 1000, undoS: (back - stopped) / 1000, totalS: (back - cancelled) / 1000, result };
}

async function main() {
  if (!process.env.KUBECONFIG) {
    console.log('helm-abort: skipped, needs the local cluster (BENCH_CLUSTER=1 npm run bench)');
    return;
  }
  const rows: [string, Awaited<ReturnType<typeof abortAndUndo>>][] = [];
  rows.push(['interrupted rollback', await abortAndUndo(true)]);
  rows.push(['settle path (today)', await abortAndUndo(false)]);
  console.log(`helm abort mid --wait, helm --timeout ${TIMEOUT}: cancel -> helm back at revision 1's manifest`);
  for (const [name, r] of rows) {
    console.log(`  ${name.padEnd(22)} ${r.totalS.toFixed(1).padStart(6)} s   (cancel ${r.cancelS.toFixed(1)} s + undo ${r.undoS.toFixed(1)} s)   ${r.result.detail}`);
  }
  const settleWait = (parseDuration(TIMEOUT) + 30_000) / 1000;
  console.log(`  the settle path waits helm --timeout + 30 s = ${settleWait} s before acting; with the spec's default timeout 5m that is 330 s`);
  console.log(`  speed-up: ${(rows[1][1].totalS / rows[0][1].totalS).toFixed(1)}x`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
