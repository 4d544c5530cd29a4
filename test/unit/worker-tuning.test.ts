// The orchestrator's capacity settings from the environment (workers/tuning.ts): defaults, values,
// and refusals that name the variable.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_TUNING, describeTuning, orchestratorTuningFromEnv, tuningOptions, TuningError } from '../../workers/tuning.js';

describe('orchestrator tuning from the environment', () => {
  test('nothing set: the defaults, passed to Worker.create as the SDK options', () => {
    const t = orchestratorTuningFromEnv({});
    assert.deepEqual(t, DEFAULT_TUNING);
    assert.deepEqual(tuningOptions(t), {
      maxCachedWorkflows: DEFAULT_TUNING.maxCachedWorkflows,
      maxConcurrentWorkflowTaskExecutions: DEFAULT_TUNING.maxConcurrentWorkflowTaskExecutions,
      workflowTaskPollerBehavior: { type: 'simple-maximum', maximum: DEFAULT_TUNING.maxConcurrentWorkflowTaskPolls },
      workflowThreadPoolSize: DEFAULT_TUNING.workflowThreadPoolSize,
      reuseV8Context: true,
      stickyQueueScheduleToStartTimeout: DEFAULT_TUNING.stickyQueueScheduleToStartTimeout,
    });
  });

  test('every variable is read', () => {
    const t = orchestratorTuningFromEnv({
      SHIPYARD_MAX_CACHED_WORKFLOWS: ' 5000 ',
      SHIPYARD_MAX_CONCURRENT_WORKFLOW_TASKS: '100',
      SHIPYARD_MAX_WORKFLOW_TASK_POLLS: '20',
      SHIPYARD_WORKFLOW_THREADS: '2',
      SHIPYARD_REUSE_V8_CONTEXT: 'FALSE',
      SHIPYARD_STICKY_TIMEOUT: '3s',
    });
    assert.deepEqual(t, {
      maxCachedWorkflows: 5000,
      maxConcurrentWorkflowTaskExecutions: 100,
      maxConcurrentWorkflowTaskPolls: 20,
      workflowThreadPoolSize: 2,
      reuseV8Context: false,
      stickyQueueScheduleToStartTimeout: 3000,
    });
    assert.match(describeTuning(t), /cache 5000 workflows, 100 workflow tasks at once, 20 polls, 2 workflow thread\(s\), sticky timeout 3s, one V8 context per workflow/);
  });

  test('polls never exceed the task slots; a cache of 0 (no sticky cache) is allowed', () => {
    const t = orchestratorTuningFromEnv({ SHIPYARD_MAX_CACHED_WORKFLOWS: '0', SHIPYARD_MAX_CONCURRENT_WORKFLOW_TASKS: '4' });
    assert.equal(t.maxCachedWorkflows, 0);
    assert.deepEqual(tuningOptions(t).workflowTaskPollerBehavior, { type: 'simple-maximum', maximum: 4 });
  });

  const refusals: [Record<string, string>, RegExp][] = [
    [{ SHIPYARD_MAX_CACHED_WORKFLOWS: 'lots' }, /SHIPYARD_MAX_CACHED_WORKFLOWS='lots' is not a whole number/],
    [{ SHIPYARD_MAX_CACHED_WORKFLOWS: '1e4' }, /SHIPYARD_MAX_CACHED_WORKFLOWS='1e4' is not a whole number/],
    [{ SHIPYARD_MAX_CACHED_WORKFLOWS: '-1' }, /SHIPYARD_MAX_CACHED_WORKFLOWS='-1' is not a whole number/],
    [{ SHIPYARD_MAX_CACHED_WORKFLOWS: '1' }, /use 0 \(no cache\) or at least 2/],
    [{ SHIPYARD_MAX_CONCURRENT_WORKFLOW_TASKS: '1' }, /SHIPYARD_MAX_CONCURRENT_WORKFLOW_TASKS=1 is out of range \(2\.\.10000\)/],
    [{ SHIPYARD_WORKFLOW_THREADS: '0' }, /SHIPYARD_WORKFLOW_THREADS=0 is out of range/],
    [{ SHIPYARD_REUSE_V8_CONTEXT: 'yes' }, /SHIPYARD_REUSE_V8_CONTEXT='yes' is not true or false/],
    [{ SHIPYARD_STICKY_TIMEOUT: '10' }, /SHIPYARD_STICKY_TIMEOUT='10' is not a duration/],
    [{ SHIPYARD_STICKY_TIMEOUT: '500ms' }, /SHIPYARD_STICKY_TIMEOUT=500ms is out of range \(1s\.\.10m\)/],
    [
      { SHIPYARD_MAX_CACHED_WORKFLOWS: '50', SHIPYARD_MAX_CONCURRENT_WORKFLOW_TASKS: '100' },
      /SHIPYARD_MAX_CONCURRENT_WORKFLOW_TASKS=100 exceeds SHIPYARD_MAX_CACHED_WORKFLOWS=50/,
    ],
  ];
  for (const [env, message] of refusals) {
    test(`refused: ${JSON.stringify(env)}`, () => {
      assert.throws(() => orchestratorTuningFromEnv(env), (err: unknown) => err instanceof TuningError && message.test(err.message));
    });
  }
});
