// Determinism guard: every committed history in test/replay/histories/ must replay against today's
// workflow code. A change that breaks one needs patched() (see DESIGN.md), not a re-recording.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { defaultPayloadConverter } from '@temporalio/common';
import { quietRuntime } from '../helpers/temporal.js';
import { workflowSource } from '../../workers/bundle.js';

const DIR = fileURLToPath(new URL('../../../test/replay/histories/', import.meta.url));
const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();

function load(file: string) {
  return historyFromJSON(JSON.parse(readFileSync(`${DIR}${file}`, 'utf8')));
}

/**
 * The workflow ID a history ran under, where the code derives IDs from it (background analysis
 * children: <release ID>/<attempt>/analysis/...); otherwise any name will do.
 */
function workflowIdOf(file: string, history: ReturnType<typeof load>): string {
  const child = history.events!.find((e) => e.startChildWorkflowExecutionInitiatedEventAttributes)?.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
  // A train's releases are <train ID>/<service>, the train ID being train/<name>/<hash>.
  if (child?.startsWith('train/')) return child.split('/').slice(0, 3).join('/');
  return child ? child.split('/').slice(0, 4).join('/') : file;
}

describe('replay of committed histories', () => {
  test('the main release paths are committed', () => {
    for (const name of ['happy-two-environments-canary', 'rolled-back-analysis-failure', 'approvals-approved-with-canary-gate', 'aborted-mid-canary', 'background-analysis-failure']) {
      assert.ok(files.includes(`${name}.json`), `${name}.json missing`);
    }
  });

  test('both sides of each patched() change are covered by a history', () => {
    const withPatch = (patch: string) => (f: string) =>
      load(f).events!.some((e) => {
        const payload = e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads?.[0];
        return payload ? JSON.stringify(defaultPayloadConverter.fromPayload(payload as never)).includes(patch) : false;
      });
    for (const patch of ['notification-grace-v1', 'release-v2', 'lease-watch-when-waited', 'freeze-batched-pushes']) {
      assert.ok(files.some(withPatch(patch)), `a history recorded with the ${patch} patch`);
      assert.ok(files.some((f) => !withPatch(patch)(f)), `a history recorded before ${patch}`);
    }
    const v2 = files.filter(withPatch('release-v2'));
    for (const name of ['happy-two-environments-canary', 'rolled-back-analysis-failure', 'aborted-mid-canary', 'background-analysis-passes', 'queued-behind-another-release']) {
      assert.ok(v2.some((f) => f.startsWith(name)), `${name} recorded on release-v2`);
    }
  });

  test('a release train and a release it held are committed', () => {
    assert.ok(files.some((f) => f.startsWith('train-rolled-back') && !f.includes('release-held')), 'train-rolled-back.json missing');
    assert.ok(files.some((f) => f.startsWith('train-rolled-back-release-held')), 'train-rolled-back-release-held.json missing');
  });

  test('every history replays without nondeterminism', async () => {
    quietRuntime();
    const histories = files.map((f) => ({ workflowId: workflowIdOf(f, load(f)), history: load(f) }));
    const failures: string[] = [];
    let replayed = 0;
    for await (const result of Worker.runReplayHistories(workflowSource(), histories)) {
      replayed++;
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    assert.equal(replayed, files.length);
    assert.deepEqual(failures, []);
  });

  test('the guard can fail: a history whose commands no longer match is a DeterminismViolationError', async () => {
    quietRuntime();
    const history = load('happy-two-environments-canary.json');
    // Pretend the code used to call another activity here: the workflow now schedules helmCurrentRevision.
    const scheduled = history.events!.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'helmCurrentRevision');
    assert.ok(scheduled.length > 0);
    scheduled[0].activityTaskScheduledEventAttributes!.activityType!.name = 'helmStatus';
    await assert.rejects(Worker.runReplayHistory(workflowSource(), history, 'tampered'), (err: unknown) => err instanceof DeterminismViolationError);
  });
});
