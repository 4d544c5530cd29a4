// Source checkout: one work directory per (service, commit), fetched shallow by commit where the
// server allows it. Idempotent: a directory already at the commit is reused. Credentials come from
// GIT_ASKPASS (SHIPYARD_GIT_ASKPASS), never from the URL, and URLs are redacted in errors.
// The long git commands (clone, fetch, checkout, push) run through the process runner of exec.ts:
// inside an activity they heartbeat while git runs and are killed, with git's helpers, on cancel.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import { simpleGit, type SimpleGit } from 'simple-git';
import { CommandError, redactText, runChecked } from '../exec.js';
import type { BuildSettings } from './settings.js';

const inflight = new Map<string, Promise<string>>();

function cancellationSignal(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined;
  }
}

/** Variables git never needs here (it runs non-interactively) and simple-git refuses. */
const INTERACTIVE = ['EDITOR', 'VISUAL', 'GIT_EDITOR', 'GIT_SEQUENCE_EDITOR', 'PAGER', 'GIT_PAGER', 'PREFIX'];

/** The environment git runs with: the worker's own, non-interactive, with the askpass program. */
export function gitEnv(settings: Pick<BuildSettings, 'askpass'>): Record<string, string> {
  const env: Record<string, string> = { ...(process.env as Record<string, string>), GIT_TERMINAL_PROMPT: '0' };
  for (const k of Object.keys(env)) if (INTERACTIVE.includes(k.toUpperCase())) delete env[k];
  if (settings.askpass) env.GIT_ASKPASS = settings.askpass;
  return env;
}

/** Heartbeat interval of the long git commands: well inside the workers' heartbeat timeouts. */
const GIT_HEARTBEAT_MS = 1000;

/**
 * Runs a long git command (network or working tree) in `dir`. A non-zero exit is a CommandError
 * with the redacted tail of git's output. When the activity is cancelled, git and its helpers are
 * killed and a CancelledFailure is thrown: rethrown, it confirms the cancellation to Temporal.
 */
export async function runGit(dir: string, args: string[], settings: Pick<BuildSettings, 'askpass'>): Promise<string> {
  try {
    return (await runChecked('git', args, { cwd: dir, env: gitEnv(settings), heartbeatMs: GIT_HEARTBEAT_MS })).stdout;
  } catch (err) {
    if (err instanceof CommandError && err.cancelled) throw new CancelledFailure(`git ${args[0]} cancelled`);
    throw err;
  }
}

export function isCancelled(err: unknown): boolean {
  return err instanceof CancelledFailure;
}

/**
 * Awaits `work` heartbeating every second, and stops waiting when the activity is cancelled. For
 * work this activity does not own (a checkout another activity started on this worker), whose git
 * runs heartbeat the other activity.
 */
export async function heartbeatWhile<T>(work: Promise<T>, detail: string): Promise<T> {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return work;
  }
  const timer = setInterval(() => ctx.heartbeat({ waiting: detail }), GIT_HEARTBEAT_MS);
  try {
    return await Promise.race([work, ctx.cancelled]);
  } finally {
    clearInterval(timer);
  }
}

export function gitFor(dir: string, settings: Pick<BuildSettings, 'askpass'>): SimpleGit {
  const env = gitEnv(settings);
  const has = (...names: string[]) => names.some((n) => Object.keys(env).some((k) => k.toUpperCase() === n));
  // simple-git strips or refuses GIT_* variables and git options that can run programs, a guard
  // against untrusted arguments. This environment is the worker's own configuration (CA bundle,
  // askpass, ssh command, git config for credentials), so it is allowed as it is.
  const git = simpleGit({
    baseDir: dir,
    abort: cancellationSignal(),
    timeout: { block: 120_000 },
    allowEnvironment: Object.keys(env),
    unsafe: {
      allowUnsafeAskPass: has('GIT_ASKPASS', 'SSH_ASKPASS'),
      allowUnsafeSshCommand: has('GIT_SSH', 'GIT_SSH_COMMAND'),
      allowUnsafeConfigPaths: has('GIT_CONFIG', 'GIT_CONFIG_GLOBAL', 'GIT_CONFIG_SYSTEM'),
      allowUnsafeConfigEnvCount: has('GIT_CONFIG_COUNT', 'GIT_CONFIG_PARAMETERS'),
    },
  });
  return git.env(env);
}

/** Returns the checkout directory of `commit`, fetching it once per worker even when builds race. */
export function checkout(repo: string, commit: string, service: string, settings: BuildSettings): Promise<string> {
  const dir = join(settings.workDir, 'src', service, commit);
  if (!inflight.has(dir)) {
    inflight.set(
      dir,
      checkoutOnce(repo, commit, dir, settings).finally(() => inflight.delete(dir)),
    );
  }
  // A second build of the same commit waits for the first one's checkout: it heartbeats meanwhile.
  return heartbeatWhile(inflight.get(dir)!, `checkout of ${commit.slice(0, 12)}`);
}

async function checkoutOnce(repo: string, commit: string, dir: string, settings: BuildSettings): Promise<string> {
  if (existsSync(dir) && (await headOf(dir, settings)) === commit) return dir;
  await mkdir(dirname(dir), { recursive: true });
  const tmp = `${dir}.tmp-${randomBytes(4).toString('hex')}`;
  await mkdir(tmp);
  try {
    const git = gitFor(tmp, settings);
    await git.init();
    await git.addRemote('origin', repo);
    try {
      // Shallow fetch of exactly the commit; servers that refuse unadvertised SHAs get a full fetch.
      await runGit(tmp, ['fetch', '--quiet', '--depth', '1', 'origin', commit], settings);
    } catch (shallowErr) {
      if (isCancelled(shallowErr)) throw shallowErr;
      try {
        await runGit(tmp, ['fetch', '--quiet', 'origin'], settings);
      } catch (err) {
        if (isCancelled(err)) throw err;
        throw classifyFetchError(repo, err, shallowErr);
      }
    }
    try {
      await runGit(tmp, ['checkout', '--quiet', '--detach', commit], settings);
    } catch (err) {
      if (isCancelled(err)) throw err;
      throw ApplicationFailure.nonRetryable(`commit ${commit} is not in ${redactText(repo)}`, 'CommitNotFound');
    }
    const head = await git.revparse(['HEAD']);
    if (head.trim() !== commit && !head.trim().startsWith(commit)) {
      throw ApplicationFailure.nonRetryable(`checkout of ${commit} ended at ${head.trim()}`, 'CommitNotFound');
    }
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
    return dir;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function headOf(dir: string, settings: BuildSettings): Promise<string | undefined> {
  try {
    return (await gitFor(dir, settings).revparse(['HEAD'])).trim();
  } catch {
    return undefined;
  }
}

function classifyFetchError(repo: string, err: unknown, shallowErr: unknown): Error {
  const text = redactText(`${(err as Error).message}\n${(shallowErr as Error).message}`);
  if (/couldn't find remote ref|not our ref|no such remote ref|upload-pack: not our ref/i.test(text)) {
    return ApplicationFailure.nonRetryable(`commit not found in ${redactText(repo)}: ${firstLine(text)}`, 'CommitNotFound');
  }
  // Not a repository, no access, no such host: retrying the same URL will not help.
  return ApplicationFailure.nonRetryable(`cannot fetch ${redactText(repo)}: ${firstLine(text)}`, 'SourceUnavailable');
}

function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .find((l) => /fatal|error|not/i.test(l)) ?? text.split('\n')[0]
  ).slice(0, 300);
}
