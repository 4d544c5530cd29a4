// The cross-process lock of test/helpers/local-stack.ts (one --local-cluster stack per machine):
// a second taker waits for the release, a lock whose holder is dead is taken over, a live holder
// makes a short wait time out with who holds it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockLocalStack } from '../helpers/local-stack.js';

const quiet = () => undefined;

test('local-stack lock: exclusive, waits for the holder, takes over a dead holder, times out on a live one', async () => {
  const base = mkdtempSync(join(tmpdir(), 'local-stack-lock-'));
  const dir = join(base, 'lock');
  try {
    const release = await lockLocalStack({ dir, log: quiet });
    assert.equal(Number(readFileSync(join(dir, 'pid'), 'utf8')), process.pid);

    // A second taker waits until the first releases.
    let second: (() => void) | undefined;
    const waiting = lockLocalStack({ dir, timeoutMs: 10_000, log: quiet }).then((r) => (second = r));
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal(second, undefined, 'the second taker is still waiting');
    release();
    const taken = await waiting;
    assert.equal(second, taken);
    taken();
    assert.ok(!existsSync(dir), 'released');

    // A holder that is gone: its lock is taken over.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    mkdirSync(dir);
    writeFileSync(join(dir, 'pid'), `${dead.stdout}\n`);
    const messages: string[] = [];
    const takeover = await lockLocalStack({ dir, timeoutMs: 5_000, log: (m) => messages.push(m) });
    assert.equal(Number(readFileSync(join(dir, 'pid'), 'utf8')), process.pid);
    assert.match(messages.join('\n'), new RegExp(`took over a stale lock .* \\(holder ${dead.stdout} is gone\\)`));
    takeover();

    // A live holder (pid 1): a short wait times out and names it.
    mkdirSync(dir);
    writeFileSync(join(dir, 'pid'), '1\n');
    await assert.rejects(lockLocalStack({ dir, timeoutMs: 800, log: quiet }), /waiting for the local-stack lock .* \(held by pid 1\)/);
    assert.equal(readFileSync(join(dir, 'pid'), 'utf8'), '1\n', 'a live holder keeps its lock');
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
