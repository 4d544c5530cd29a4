// Where the build worker keeps its state, from the environment.
//   SHIPYARD_WORK_DIR       checkouts (default ~/.cache/shipyard/work)
//   SHIPYARD_ARTIFACT_DIR   content-addressed artifact store (default ~/.cache/shipyard/artifacts);
//                           the cache of a remote store
//   SHIPYARD_ARTIFACT_STORE oci://registry/repository for releases whose spec names no registry
//                           (build-only releases on more than one build worker); default: local
//   SHIPYARD_GIT_ASKPASS    GIT_ASKPASS program for private repositories (credentials never go in URLs)
//   SHIPYARD_INSECURE_REGISTRIES  comma-separated host:port registries spoken to over plain HTTP
//   SHIPYARD_BUILD_CONCURRENCY    build slots of the worker (workers/worker.ts); each `go build` gets
//                           -p cores/slots, so parallel builds share the cores instead of oversubscribing
// Private Go modules: GOPRIVATE, GOFLAGS, GONOSUMDB, GOPROXY and ~/.netrc pass through to `go` untouched.
import { availableParallelism, homedir } from 'node:os';
import { join } from 'node:path';

export interface BuildSettings {
  workDir: string;
  artifactDir: string;
  /** Store for builds whose input names none (artifacts.ts): `local` or oci://registry/repository. */
  artifactStore?: string;
  askpass?: string;
  insecureRegistries: string[];
  /** `go build -p`: the cores one build may use while the worker's other slots build too. */
  goProcs?: number;
  /** Called before each external command; tests count `go build` runs with it. */
  onCommand?: (cmd: string, args: string[]) => void;
}

export function buildSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): BuildSettings {
  const cache = join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'shipyard');
  return {
    workDir: env.SHIPYARD_WORK_DIR || join(cache, 'work'),
    artifactDir: env.SHIPYARD_ARTIFACT_DIR || join(cache, 'artifacts'),
    artifactStore: env.SHIPYARD_ARTIFACT_STORE?.trim() || undefined,
    askpass: env.SHIPYARD_GIT_ASKPASS || undefined,
    insecureRegistries: (env.SHIPYARD_INSECURE_REGISTRIES || '').split(',').map((s) => s.trim()).filter(Boolean),
    goProcs: goProcsFor(Number(env.SHIPYARD_BUILD_CONCURRENCY) || availableParallelism()),
  };
}

/** Cores per build when `slots` builds run at once (at least one). */
export function goProcsFor(slots: number, cores = availableParallelism()): number {
  return Math.max(1, Math.floor(cores / Math.max(1, slots)));
}
