// Starting test/helpers/crash-worker.ts as a child process (every role, ledger-backed mocked
// activities) for crash tests and the crash-drill bench: it resolves once the worker polls.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TestQueues } from './temporal.js';

const WORKER = fileURLToPath(new URL('./crash-worker.js', import.meta.url));

export interface CrashWorkerOptions {
  /** Activities made slow: `name:ms,...` (SHIPYARD_TEST_SLOW). */
  slow?: string;
  /** Append the worker's stderr to this file (default: inherit it). */
  stderrTo?: string;
  /** Called as soon as the process exists, before it is ready (e.g. to kill it on exit). */
  onSpawn?: (child: ChildProcess) => void;
}

export function startCrashWorker(queues: TestQueues, ledger: string, opts: CrashWorkerOptions = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--enable-source-maps', WORKER], {
    env: {
      ...process.env,
      SHIPYARD_ORCHESTRATOR_QUEUE: queues.orchestrator,
      SHIPYARD_BUILD_QUEUE: queues.build,
      SHIPYARD_DEPLOY_QUEUE: queues.deploy,
      SHIPYARD_TEST_LEDGER: ledger,
      SHIPYARD_TEST_SLOW: opts.slow ?? '',
    },
    stdio: ['ignore', 'pipe', opts.stderrTo ? 'pipe' : 'inherit'],
  });
  opts.onSpawn?.(child);
  if (opts.stderrTo) child.stderr!.pipe(createWriteStream(opts.stderrTo, { flags: 'a' }));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => String(d).includes('ready') && resolve(child));
    child.on('exit', (code) => reject(new Error(`crash worker exited early (${code})${opts.stderrTo ? `; see ${opts.stderrTo}` : ''}`)));
  });
}
