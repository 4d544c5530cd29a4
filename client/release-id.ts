// Release identity: release/<service>/<all | env1+env2 in spec order>/<full commit>. The same
// release always gets the same workflow ID, which is what makes starts idempotent; so every
// spelling of one selection (short or full SHA, -e order, repeats, naming every environment) must
// come out as one ID. Pure functions: commit resolution (git) is in commit.ts.
import { ShipyardUsageError } from './errors.js';

const COMMIT = /^[0-9a-f]{7,64}$/;
/** A full object name: SHA-1 (40 hex) or SHA-256 (64 hex) repositories. */
const FULL_COMMIT = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

export function validateCommit(commit: string): void {
  if (typeof commit !== 'string' || !COMMIT.test(commit)) {
    throw new ShipyardUsageError(`commit '${commit}' is not a git commit hash (7 to 64 lowercase hex digits)`);
  }
}

/** True for a full commit hash, which needs no git to be the canonical spelling. */
export function isFullCommit(commit: string): boolean {
  return typeof commit === 'string' && FULL_COMMIT.test(commit);
}

export interface EnvironmentSelection {
  /** The environments the release goes to, deduplicated, in spec order. */
  environments: string[];
  /** True when that is every environment of the spec (spelled `all` in the ID). */
  all: boolean;
}

/**
 * Normalises a requested environment set against the spec's: unknown names are a usage error,
 * repeats and order do not matter, none requested (or every one) means all.
 */
export function selectEnvironments(specEnvironments: string[], requested: string[] = []): EnvironmentSelection {
  const unknown = [...new Set(requested.filter((e) => !specEnvironments.includes(e)))];
  if (unknown.length) {
    throw new ShipyardUsageError(`unknown environment(s) ${unknown.join(', ')}; the spec has ${specEnvironments.join(', ')}`);
  }
  const wanted = new Set(requested);
  const environments = wanted.size ? specEnvironments.filter((e) => wanted.has(e)) : [...specEnvironments];
  return { environments, all: environments.length === specEnvironments.length };
}

/** The ID segment of a selection: `all`, or the environments joined with + in spec order. */
export function environmentKey(selection: EnvironmentSelection): string {
  return selection.all ? 'all' : selection.environments.join('+');
}

/**
 * `environments` empty means every environment of the spec ("all"). Low level: callers pass an
 * already normalised selection (releaseIdFor does) and a resolved commit.
 */
export function releaseId(service: string, environments: string[], commit: string): string {
  validateCommit(commit);
  return `release/${service}/${environments.length ? environments.join('+') : 'all'}/${commit}`;
}

/** The release ID of a selection of a spec's environments and a full commit hash. */
export function releaseIdFor(service: string, specEnvironments: string[], requested: string[] | undefined, fullCommit: string): string {
  if (!isFullCommit(fullCommit)) throw new ShipyardUsageError(`commit '${fullCommit}' must be resolved to its full hash before it names a release`);
  const selection = selectEnvironments(specEnvironments, requested);
  return `release/${service}/${environmentKey(selection)}/${fullCommit}`;
}
