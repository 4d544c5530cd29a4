// The prebuilt workflow bundle really preloads the pure libraries (workers/bundle.ts PRELOAD_MODULES):
// loaded the way the SDK loads it for reuseV8Context, before any workflow exists, each library's
// module is already in the shared module cache. A package name the bundler dropped (webpack removes
// an unused require() of a "sideEffects": false package) would be evaluated again by every workflow.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseWorkflowCode } from '@temporalio/worker/lib/worker.js';
import { ReusableVMWorkflowCreator } from '@temporalio/worker/lib/workflow/reusable-vm.js';
import { WORKFLOW_BUNDLE_PATH } from '../../workers/bundle.js';

/** The webpack module id of a file in the bundle, e.g. "../../main/node_modules/@noble/curves/ed25519.js". */
function moduleId(code: string, suffix: string): string {
  const ids = [...code.matchAll(/^\/\*\*\*\/ "([^"]+)"$/gm)].map((m) => m[1]).filter((id) => id.endsWith(suffix));
  assert.equal(ids.length, 1, `one module ending in ${suffix} in the bundle: ${ids.join(', ')}`);
  return ids[0];
}

describe('workflow bundle preload', () => {
  test('the pure libraries are in the shared module cache before any workflow starts; workflow code is not', async () => {
    const bundle = parseWorkflowCode(readFileSync(WORKFLOW_BUNDLE_PATH, 'utf8'), WORKFLOW_BUNDLE_PATH);
    const creator = await ReusableVMWorkflowCreator.create(bundle, 5000, new Set());
    try {
      const cache = (creator as unknown as { context: Record<string, Record<string, { exports?: unknown } | undefined>> }).context.__webpack_module_cache__;
      for (const lib of ['@noble/curves/ed25519.js', '@noble/hashes/sha2.js', 'cron-parser/dist/CronExpressionParser.js', 'luxon/build/node/luxon.js']) {
        assert.ok(cache[moduleId(bundle.code, lib)]?.exports, `${lib} preloaded`);
      }
      // Workflow modules hold per-release state and must stay per workflow.
      assert.equal(cache[moduleId(bundle.code, 'dist/workflows/release/index.js')], undefined);
      assert.equal(cache[moduleId(bundle.code, 'dist/workflows/decision-statement.js')], undefined);
    } finally {
      await creator.destroy();
    }
  });
});
