// Crash safety: SIGKILL the worker process mid-release (during a canary pause timer, and during a
// long activity), start a new one, and the release completes with each side effect exactly once.
// Activities are MOCKED but live in a real separate process and record to a ledger file.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { twoEnvSpec } from '../helpers/specs.js';
import { startCrashWorker } from '../helpers/crash-process.js';
import { readLedger } from '../helpers/ledger-activities.js';
import { startRelease, waitForStatus } from '../helpers/release.js';
import { connectClient, eventually, uniqueName, uniqueQueues, type TemporalTestContext, type TestQueues } from '../helpers/temporal.js';

let ctx: TemporalTestContext;
before(async () => {
  ctx = await connectClient();
});
after(async () => {
  await ctx.close();
});

const startWorker = (queues: TestQueues, ledger: string, slow = '') => startCrashWorker(queues, ledger, { slow });

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

function counts(ledger: string, kind: 'attempt' | 'effect') {
  const out = new Map<string, number>();
  for (const l of readLedger(ledger).filter((l) => l.kind === kind)) out.set(l.key, (out.get(l.key) ?? 0) + 1);
  return out;
}

describe('crash safety (worker process SIGKILLed, mocked activities in a real process)', () => {
  test('SIGKILL during a canary pause timer: a new worker finishes the release, nothing runs twice', async () => {
    const queues = uniqueQueues('crash');
    const ledger = join(mkdtempSync(join(tmpdir(), 'ledger-')), 'ledger.tsv');
    const spec = twoEnvSpec({ service: uniqueName('crashpause'), withBuild: false, canarySteps: [{ setWeight: 20 }, { pause: '6s' }, { setWeight: 100 }] });
    let worker = await startWorker(queues, ledger);
    const { releaseId } = await startRelease(ctx.shipyard, queues, spec);
    await waitForStatus(ctx.shipyard, releaseId, (s) => s.canary?.description === 'pause 6s', 'canary pause timer');
    const before = readLedger(ledger).length;
    await kill(worker);
    worker = await startWorker(queues, ledger);
    try {
      const final = await ctx.shipyard.wait(releaseId, undefined, 250);
      assert.equal(final.outcome, 'succeeded', final.message);
      assert.equal(final.status!.canary?.weight, 0);
      const attempts = counts(ledger, 'attempt');
      const effects = counts(ledger, 'effect');
      for (const [key, n] of attempts) assert.equal(n, 1, `${key} ran ${n} times`);
      for (const [key, n] of effects) assert.equal(n, 1, `${key} happened ${n} times`);
      const names = readLedger(ledger).filter((l) => l.kind === 'effect').map((l) => l.name);
      assert.deepEqual(names, ['helmDeploy', 'gitopsUpdate', 'setTrafficWeight', 'setTrafficWeight', 'promoteCanary']);
      assert.ok(readLedger(ledger).length > before, 'the new worker did the rest');
    } finally {
      await kill(worker);
    }
  });

  test('SIGKILL during a long activity: it is retried once on the new worker, its side effect stays single', async () => {
    const queues = uniqueQueues('crash');
    const ledger = join(mkdtempSync(join(tmpdir(), 'ledger-')), 'ledger.tsv');
    const spec = twoEnvSpec({ service: uniqueName('crashact'), withBuild: false, canarySteps: [{ setWeight: 50 }, { setWeight: 100 }] });
    let worker = await startWorker(queues, ledger, 'helmDeploy:8000');
    const { releaseId } = await startRelease(ctx.shipyard, queues, spec);
    await eventually(async () => readLedger(ledger).some((l) => l.kind === 'attempt' && l.name === 'helmDeploy'), 30_000, 'helm deploy to start');
    await kill(worker);
    // The replacement is fast: the retried attempt after the heartbeat timeout finishes quickly.
    worker = await startWorker(queues, ledger);
    try {
      const final = await ctx.shipyard.wait(releaseId, undefined, 250);
      assert.equal(final.outcome, 'succeeded', final.message);
      const attempts = counts(ledger, 'attempt');
      const effects = counts(ledger, 'effect');
      const helmKey = [...attempts.keys()].find((k) => k.includes('|helmDeploy|'))!;
      assert.equal(attempts.get(helmKey), 2, 'the killed helm deploy was retried once');
      assert.equal(effects.get(helmKey), 1, 'and its side effect happened once');
      for (const [key, n] of attempts) if (key !== helmKey) assert.equal(n, 1, `${key} ran ${n} times`);
      for (const [key, n] of effects) assert.equal(n, 1, `${key} happened ${n} times`);
      const names = readLedger(ledger).filter((l) => l.kind === 'effect').map((l) => l.name);
      assert.deepEqual(names, ['helmDeploy', 'gitopsUpdate', 'setTrafficWeight', 'setTrafficWeight', 'promoteCanary']);
    } finally {
      await kill(worker);
    }
  });
});
