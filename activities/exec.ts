// Running the real tools (go, git, helm, crane) from activities. Inside an activity the child
// heartbeats with its latest output line and is killed, with its whole process group, when the
// activity is cancelled, so a cancelled build leaves no compiler behind.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Heartbeat interval while running inside an activity (ms). */
  heartbeatMs?: number;
  /** Hard limit; the process group is killed after it. */
  timeoutMs?: number;
  /** Written to stdin, then closed. */
  input?: string;
  /** Strings never to show in errors or heartbeats (tokens, passwords). */
  redact?: string[];
  /** Write stdout to this file instead of collecting it (binary output of any size, e.g. a blob). */
  stdoutFile?: string;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class CommandError extends Error {
  override name = 'CommandError';
  constructor(
    message: string,
    readonly result: RunResult,
    readonly cancelled = false,
  ) {
    super(message);
  }
}

const MAX_OUTPUT = 4 * 1024 * 1024;

function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

export function redactText(text: string, secrets: string[] = []): string {
  let out = text.replace(/(\w+:\/\/)[^/@\s]+@/g, '$1***@'); // credentials in URLs
  for (const s of secrets) if (s) out = out.split(s).join('***');
  return out;
}

/** Runs a command; resolves with its output whatever the exit code (check `code`), rejects if it could not run or was cancelled. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const ctx = activityContext();
  return new Promise((resolve, reject) => {
    // detached: the child leads its own process group, so kill(-pid) reaches the compilers it spawns.
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let lastLine = '';
    let settled = false;
    const started = Date.now();
    const onData = (which: 'stdout' | 'stderr') => (d: Buffer) => {
      const text = d.toString();
      if (which === 'stdout' && stdout.length < MAX_OUTPUT) stdout += text;
      if (which === 'stderr' && stderr.length < MAX_OUTPUT) stderr += text;
      const lines = text.split('\n').filter((l) => l.trim());
      if (lines.length) lastLine = lines[lines.length - 1].slice(0, 300);
    };
    // Collected stdout, or a file: then `close` waits until the file is flushed as well.
    let written: Promise<unknown> = Promise.resolve();
    if (opts.stdoutFile) {
      const file = createWriteStream(opts.stdoutFile);
      written = new Promise<void>((r) => file.on('close', () => r()).on('error', () => r()));
      child.stdout.pipe(file);
    } else {
      child.stdout.on('data', onData('stdout'));
    }
    child.stderr.on('data', onData('stderr'));
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();

    const killGroup = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timers: NodeJS.Timeout[] = [];
    if (ctx) {
      const beat = () => ctx.heartbeat({ command: cmd, elapsedMs: Date.now() - started, output: redactText(lastLine, opts.redact) });
      beat();
      timers.push(setInterval(beat, opts.heartbeatMs ?? 2000));
      ctx.cancelled.catch(() => {
        if (settled) return;
        killGroup();
        settled = true;
        cleanup();
        reject(new CommandError(`${cmd} killed: activity cancelled`, { code: -1, stdout, stderr }, true));
      });
    }
    if (opts.timeoutMs) {
      timers.push(
        setTimeout(() => {
          killGroup();
          if (!settled) {
            settled = true;
            cleanup();
            reject(new CommandError(`${cmd} ${args[0] ?? ''} timed out after ${opts.timeoutMs}ms`, { code: -1, stdout, stderr }));
          }
        }, opts.timeoutMs),
      );
    }
    const cleanup = () => timers.forEach((t) => clearTimeout(t));
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      cleanup();
      // A missing tool will still be missing on the next attempt: not retryable.
      if (err.code === 'ENOENT') {
        reject(ApplicationFailure.nonRetryable(`${cmd} is not installed on this worker (node scripts/tools.js ensure <tool>, or put it on PATH)`, 'ToolMissing'));
        return;
      }
      reject(new CommandError(`cannot run ${cmd}: ${err.message}`, { code: -1, stdout, stderr }));
    });
    child.on('close', (code) => {
      if (settled) return;
      settled = true;
      cleanup();
      void written.then(() => resolve({ code: code ?? -1, stdout, stderr }));
    });
  });
}

/** Like run, but a non-zero exit is a CommandError carrying the (redacted) tail of the output. */
export async function runChecked(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const result = await run(cmd, args, opts);
  if (result.code !== 0) {
    const tail = redactText(`${result.stderr}\n${result.stdout}`.trim(), opts.redact).split('\n').slice(-20).join('\n');
    throw new CommandError(`${cmd} ${redactText(args.slice(0, 2).join(' '), opts.redact)} exited ${result.code}:\n${tail}`, result);
  }
  return result;
}
