// Release identity: release/<service>/<environment-or-all>/<commit>. The same release always
// gets the same workflow ID, which is what makes starts idempotent.
import { ShipyardUsageError } from './errors.js';

const COMMIT = /^[0-9a-f]{7,64}$/;

export function validateCommit(commit: string): void {
  if (typeof commit !== 'string' || !COMMIT.test(commit)) {
    throw new ShipyardUsageError(`commit '${commit}' is not a git commit hash (7 to 64 lowercase hex digits)`);
  }
}

/** `environments` empty means every environment of the spec ("all"). */
export function releaseId(service: string, environments: string[], commit: string): string {
  validateCommit(commit);
  return `release/${service}/${environments.length ? environments.join('+') : 'all'}/${commit}`;
}
