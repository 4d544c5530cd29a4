// Benchmark: the 4-target build matrix (linux/amd64, linux/arm64, darwin/arm64, windows/amd64) of the
// example service, measured in one run with the real toolchain, each cold (empty Go build cache and
// artifact store):
//   shell      a plain bash `for` loop of `go build` over the same targets, same flags, same module
//              (the baseline the matrix is held to: goal matrix/shell <= 1.1x)
//   matrix     the build activities in parallel, at most the build worker's concurrency at once
//              (maxConcurrentActivityTaskExecutions = SHIPYARD_BUILD_CONCURRENCY or the cores);
//              alternating with the shell loop for BENCH_ROUNDS (2) rounds
//   sequential the build activities one after another
//   registry   the matrix with the binaries stored as OCI artifacts in a real registry (the upload cost)
// and warm (artifact-store hits). The binaries of the shell loop and of the matrix must be identical.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createBuildActivities } from '../activities/build/index.js';
import { goProcsFor } from '../activities/build/settings.js';
import type { BuildArtifact, BuildTargetInput } from '../activities/types.js';
import { createRepo } from '../test/helpers/git.js';
import { startRegistry } from '../test/helpers/registry.js';

const TARGETS = ['linux/amd64', 'linux/arm64', 'darwin/arm64', 'windows/amd64'];
const LDFLAGS = '-s -w';

async function main() {
  const repo = await createRepo();
  const commit = await repo.commit('bench');
  const slots = Number(process.env.SHIPYARD_BUILD_CONCURRENCY) || availableParallelism();
  const input = (target: string): BuildTargetInput => ({ releaseId: 'bench', service: 'hello', version: 'v1', commit, repo: repo.url, goPackage: './cmd/hello', target, ldflags: LDFLAGS });
  /** A fresh Go build cache (and artifact store): every compile is cold. */
  const freshCache = () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-build-'));
    process.env.GOCACHE = join(dir, 'gocache');
    return dir;
  };
  /** Build activities as the worker makes them: `go build -p cores/slots` (goProcs 0: go's own -p). */
  const fresh = (goProcs = goProcsFor(slots)) => {
    const dir = freshCache();
    return createBuildActivities({ workDir: join(dir, 'work'), artifactDir: join(dir, 'artifacts'), insecureRegistries: [], goProcs: goProcs || undefined });
  };
  const build = (acts: ReturnType<typeof fresh>, target: string, artifactStore?: string) =>
    new MockActivityEnvironment().run(acts.buildTarget as (i: BuildTargetInput) => Promise<BuildArtifact>, { ...input(target), artifactStore }) as Promise<BuildArtifact>;
  /** The targets with at most `n` builds at a time (what the build worker's slots allow). */
  const bounded = async (acts: ReturnType<typeof fresh>, n: number, artifactStore?: string) => {
    const queue = [...TARGETS];
    const out: BuildArtifact[] = [];
    await Promise.all(Array.from({ length: n }, async () => {
      for (let t = queue.shift(); t; t = queue.shift()) out.push(await build(acts, t, artifactStore));
    }));
    return out;
  };
  const time = async <T>(fn: () => Promise<T>): Promise<[number, T]> => {
    const t = performance.now();
    const r = await fn();
    return [performance.now() - t, r];
  };

  // The shell loop builds in a clone of the same commit, made before the clock starts.
  const checkout = join(mkdtempSync(join(tmpdir(), 'bench-shell-')), 'src');
  execFileSync('git', ['clone', '--quiet', repo.url, checkout]);
  execFileSync('git', ['-C', checkout, 'checkout', '--quiet', commit]);
  const out = join(checkout, '..', 'out');
  const loop = `set -e
for t in ${TARGETS.join(' ')}; do
  IFS=/ read -r os arch <<< "$t"
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -buildvcs=false -ldflags "${LDFLAGS} -buildid=" -o "${out}/$os-$arch" ./cmd/hello
done`;
  // Detached (its own session), as the build activities run go (activities/exec.ts): with the
  // kernel's autogroup scheduling a session is one scheduling group, so on a loaded machine a loop
  // in the bench's own session would get a smaller CPU share than the matrix and look slower.
  const shell = async () => {
    freshCache();
    const child = spawn('bash', ['-c', loop], { cwd: checkout, stdio: 'inherit', detached: true });
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    if (code !== 0) throw new Error(`shell loop exited ${code}`);
  };

  // The shell loop and the matrix (the worker's slots) alternate, in both orders, so load that drifts
  // during the run (other processes on the machine) weighs on both alike.
  const rounds = Number(process.env.BENCH_ROUNDS) || 2;
  const shellRuns: number[] = [];
  const matrixRuns: number[] = [];
  let boundedArtifacts: BuildArtifact[] = [];
  for (let round = 0; round < rounds; round++) {
    const matrix = async () => {
      const [ms, arts] = await time(() => bounded(fresh(), slots));
      matrixRuns.push(ms);
      boundedArtifacts = arts;
    };
    const loopRun = async () => shellRuns.push((await time(shell))[0]);
    if (round % 2 === 0) {
      await loopRun();
      await matrix();
    } else {
      await matrix();
      await loopRun();
    }
  }
  const [sequentialMs] = await time(async () => {
    const acts = fresh(goProcsFor(1));
    for (const target of TARGETS) await build(acts, target);
  });
  // The slots without -p: each go build runs as many compiles as there are cores (the old default).
  const [unboundedMs] = await time(() => bounded(fresh(0), slots));
  const registry = await startRegistry();
  const [registryMs, pushed] = await time(() => bounded(fresh(), slots, `oci://${registry.host}/bench/hello`));
  await registry.stop();
  if (!pushed.every((a) => a.uri.startsWith('oci://'))) throw new Error('expected OCI artifacts');
  const acts = fresh();
  await bounded(acts, slots);
  const [warmMs, warm] = await time(() => Promise.all(TARGETS.map((target) => build(acts, target))));
  if (!warm.every((a) => a.cacheHit)) throw new Error('expected artifact-store hits');

  // Same module, same flags: the same bytes.
  for (const a of boundedArtifacts) {
    const [os, arch] = a.target.split('/');
    const shellSha = createHash('sha256').update(readFileSync(join(out, `${os}-${arch}`))).digest('hex');
    if (shellSha !== a.sha256) throw new Error(`${a.target}: the shell loop built ${shellSha}, the matrix ${a.sha256}`);
  }

  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const matrixMs = mean(matrixRuns);
  const shellMs = mean(shellRuns);
  console.log(`4-target matrix of the example service (cold Go build cache each, ${TARGETS.join(', ')}; ${availableParallelism()} cores, ${slots} build slots):`);
  console.log(`  shell loop (bash for + go build): ${shellRuns.map(s).join(', ')}  (mean ${s(shellMs)})`);
  console.log(`  matrix, ${slots} at a time, -p ${goProcsFor(slots)}:               ${matrixRuns.map(s).join(', ')}  (mean ${s(matrixMs)})`);
  console.log(`  matrix/shell ${(matrixMs / shellMs).toFixed(2)}x (per round ${matrixRuns.map((m, i) => (m / shellRuns[i]).toFixed(2)).join(', ')}; goal <= 1.1x)`);
  console.log(`  matrix, ${slots} at a time without -p (each go build on all cores) ${s(unboundedMs)} (${(unboundedMs / shellMs).toFixed(2)}x the shell loop)`);
  console.log(`  matrix one target at a time ${s(sequentialMs)} (${(sequentialMs / shellMs).toFixed(2)}x the shell loop)`);
  console.log(`  ${slots} at a time storing OCI artifacts in a local registry ${s(registryMs)} (${(registryMs / matrixMs).toFixed(2)}x the local store)`);
  console.log(`  identical binaries from the shell loop and the matrix: yes`);
  console.log(`  warm (artifact-store hits) ${warmMs.toFixed(0)} ms  =>  cold/warm ${(matrixMs / warmMs).toFixed(0)}x`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
