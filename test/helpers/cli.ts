// Running the real shipyard CLI as a child process, the way Jenkins does.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../client/cli.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunningCli {
  /** Output so far. */
  readonly stdout: string;
  readonly stderr: string;
  done: Promise<CliResult>;
}

/** Starts the CLI; its output can be watched while it runs (e.g. `--wait` progress). */
export function startCli(args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 120_000): RunningCli {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const state = { stdout: '', stderr: '' };
  child.stdout.on('data', (d) => (state.stdout += d));
  child.stderr.on('data', (d) => (state.stderr += d));
  const done = new Promise<CliResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`shipyard ${args.join(' ')} did not finish in ${timeoutMs}ms\n${state.stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, ...state });
    });
  });
  return {
    get stdout() {
      return state.stdout;
    },
    get stderr() {
      return state.stderr;
    },
    done,
  };
}

export function runCli(args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 120_000): Promise<CliResult> {
  return startCli(args, env, timeoutMs).done;
}

/** The CLI run in `cwd` (the Jenkins workspace case: the checkout is the working directory). */
export function runCliIn(cwd: string, args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** The CLI's task queue settings for a test's own queues. */
export function queueEnv(queues: { orchestrator: string; build: string; deploy: string }) {
  return {
    SHIPYARD_ORCHESTRATOR_QUEUE: queues.orchestrator,
    SHIPYARD_BUILD_QUEUE: queues.build,
    SHIPYARD_DEPLOY_QUEUE: queues.deploy,
  };
}
