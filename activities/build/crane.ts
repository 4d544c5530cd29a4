// Running crane (go-containerregistry) against a registry: plain HTTP for the configured insecure
// registries, and refusals (auth, invalid names or manifests) as non-retryable failures; connection
// problems and 5xx stay retryable (Temporal retries the activity).
import { ApplicationFailure } from '@temporalio/common';
import { CommandError, runChecked } from '../exec.js';
import type { BuildSettings } from './settings.js';

export interface ImageTools {
  crane: string;
}

export function registryOf(repository: string): string {
  return repository.split('/')[0];
}

/** `registry/path` in lower case, as image references need it. */
export const REPOSITORY_PATTERN = /^[a-z0-9.-]+(:\d+)?\/[a-z0-9._/-]+$/;

export async function crane(
  tools: ImageTools,
  settings: BuildSettings,
  args: string[],
  repository: string,
  opts: { stdoutFile?: string } = {},
): Promise<string> {
  const insecure = settings.insecureRegistries.includes(registryOf(repository)) ? ['--insecure'] : [];
  settings.onCommand?.('crane', args);
  try {
    const res = await runChecked(tools.crane, [...args, ...insecure], { heartbeatMs: 2000, stdoutFile: opts.stdoutFile });
    return res.stdout.trim();
  } catch (err) {
    // Status codes as words only: a digest in the message (…a401b…) is no refusal.
    if (err instanceof CommandError && /UNAUTHORIZED|DENIED|\b401\b|\b403\b|MANIFEST_INVALID|NAME_INVALID|could not parse reference/i.test(err.message)) {
      throw ApplicationFailure.nonRetryable(`registry refused: ${err.message}`, 'RegistryRefused');
    }
    throw err; // connection problems and 5xx: Temporal retries
  }
}

/** The registry answered that the manifest, blob or repository is not there (a CommandError from crane). */
export function isNotFound(err: unknown): boolean {
  return err instanceof CommandError && /MANIFEST_UNKNOWN|BLOB_UNKNOWN|NAME_UNKNOWN|NOT_FOUND|\b404\b/.test(err.message);
}
