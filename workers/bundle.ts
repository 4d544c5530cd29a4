// The workflow bundle. `npm run build` writes it once so workers (and tests, which start many)
// do not each spend seconds running webpack; without it a worker bundles at start.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.js', import.meta.url));
export const WORKFLOW_BUNDLE_PATH = fileURLToPath(new URL('../workflow-bundle.js', import.meta.url));

/**
 * Pure libraries the workflows use, loaded ONCE per workflow thread and shared by every workflow in it
 * (reuseV8Context). Without this each workflow instantiates its own copy of every module it imports
 * when it starts (and again on every replay after an eviction): memory and CPU per cached release.
 * Only stateless libraries belong here: a module holding per-workflow state would leak between releases.
 * The list is ONE module, workflows/preloaded.ts, which imports them: package names given here directly
 * are dropped by webpack when the package is marked side-effect free (see that file).
 */
export const PRELOAD_MODULES = [fileURLToPath(new URL('../workflows/preloaded.js', import.meta.url))];

/** Worker options that load the workflows: the prebuilt bundle when present. */
export function workflowSource(): { workflowBundle: { codePath: string } } | { workflowsPath: string; bundlerOptions: { preloadModules: string[] } } {
  return existsSync(WORKFLOW_BUNDLE_PATH)
    ? { workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH } }
    : { workflowsPath: WORKFLOWS_PATH, bundlerOptions: { preloadModules: PRELOAD_MODULES } };
}

async function main() {
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger, preloadModules: PRELOAD_MODULES });
  await writeFile(WORKFLOW_BUNDLE_PATH, code);
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (m: string) => console.warn(m),
  error: (m: string) => console.error(m),
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
