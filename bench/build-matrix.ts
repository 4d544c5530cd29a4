// Benchmark: the 4-target build matrix (linux/amd64, linux/arm64, darwin/arm64, windows/amd64) of the
// example service, parallel (as the workflow fans out) vs sequential, and cold (empty Go build cache
// and artifact store) vs warm (artifact-store hits), measured in one run with the real toolchain.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createBuildActivities } from '../activities/build/index.js';
import type { BuildArtifact, BuildTargetInput } from '../activities/types.js';
import { createRepo } from '../test/helpers/git.js';

const TARGETS = ['linux/amd64', 'linux/arm64', 'darwin/arm64', 'windows/amd64'];

async function main() {
  const repo = await createRepo();
  const commit = await repo.commit('bench');
  const input = (target: string): BuildTargetInput => ({ releaseId: 'bench', service: 'hello', version: 'v1', commit, repo: repo.url, goPackage: './cmd/hello', target, ldflags: '-s -w' });
  /** A fresh Go build cache and artifact store: every compile is cold. */
  const fresh = () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-build-'));
    process.env.GOCACHE = join(dir, 'gocache');
    return createBuildActivities({ workDir: join(dir, 'work'), artifactDir: join(dir, 'artifacts'), insecureRegistries: [] });
  };
  const build = (acts: ReturnType<typeof fresh>, target: string) =>
    new MockActivityEnvironment().run(acts.buildTarget as (i: BuildTargetInput) => Promise<BuildArtifact>, input(target));

  let acts = fresh();
  let t = performance.now();
  for (const target of TARGETS) await build(acts, target);
  const sequential = performance.now() - t;

  acts = fresh();
  t = performance.now();
  await Promise.all(TARGETS.map((target) => build(acts, target)));
  const parallel = performance.now() - t;

  t = performance.now();
  const warm = (await Promise.all(TARGETS.map((target) => build(acts, target)))) as BuildArtifact[];
  const cached = performance.now() - t;
  if (!warm.every((a) => a.cacheHit)) throw new Error('expected artifact-store hits');

  console.log(`4-target matrix of the example service (cold Go build cache each, ${TARGETS.join(', ')}):`);
  console.log(`  sequential ${(sequential / 1000).toFixed(1)} s, parallel ${(parallel / 1000).toFixed(1)} s  =>  parallel is ${(sequential / parallel).toFixed(2)}x faster`);
  console.log(`  warm (artifact-store hits) ${cached.toFixed(0)} ms  =>  cold/warm ${(parallel / cached).toFixed(0)}x`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
