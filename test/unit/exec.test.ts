// Running tools: a tool that is not installed is a non-retryable ToolMissing failure, for every caller.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run, runChecked } from '../../activities/exec.js';

test('a missing tool fails with ToolMissing, not retryable', async () => {
  await assert.rejects(run('shipyard-no-such-tool', ['--version']), (err: { type?: string; nonRetryable?: boolean; message: string }) => {
    assert.equal(err.type, 'ToolMissing');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /shipyard-no-such-tool is not installed on this worker/);
    return true;
  });
});

test('a failing command reports its exit code and output tail', async () => {
  await assert.rejects(runChecked('sh', ['-c', 'echo boom >&2; exit 3']), /sh -c echo boom >&2; exit 3 exited 3:\nboom/);
});
