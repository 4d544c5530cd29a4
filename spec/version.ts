// Release versions and the image tags made from them. The version is given when a release starts
// (a git tag, a semver, a branch build id); registries only take OCI tags, so the tag is derived here
// once and every step (image publish, helm values, GitOps commit) uses the same one.
// Pure and dependency-free: the client, activities and the workflow may all import it.

/** An OCI distribution-spec tag. */
export const OCI_TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/** What a version may contain before mapping: OCI tag characters plus + / : (mapped, see imageTagFor). */
const VERSION_CHARS = /^[A-Za-z0-9._+/:-]*$/;

/**
 * Mapping of the characters a version may have but a tag may not:
 *   '+' -> '_'   semver build metadata, as Helm does for chart versions in OCI registries
 *                (v1.2.3+build.7 -> v1.2.3_build.7). Not '-': that would turn build metadata
 *                into a pre-release, which semver orders *before* v1.2.3.
 *   '/' -> '-'   branch-style versions: release/2024.06 -> release-2024.06
 *   ':' -> '-'   e.g. build:42 -> build-42
 * The mapping is not injective (feature/x and feature-x share the tag feature-x); a version is
 * expected to be unique after mapping, as it is for tags and semvers.
 */
const TAG_CHAR: Record<string, string> = { '+': '_', '/': '-', ':': '-' };

/** Throws an Error saying why `version` cannot be a release version; the image tag is then imageTagFor(version). */
export function validateVersion(version: unknown): asserts version is string {
  if (typeof version !== 'string' || version.length === 0) throw new Error('version must be a non-empty string');
  if (version.length > 128) throw new Error(`version '${version.slice(0, 40)}...' is ${version.length} characters; an image tag holds at most 128`);
  const bad = [...version].find((c) => !VERSION_CHARS.test(c));
  if (bad !== undefined) {
    throw new Error(`version '${version}' has '${bad}', which an image tag cannot hold (allowed: letters, digits, . _ - and + / : which become _ - -)`);
  }
  if (!/^[A-Za-z0-9_+]/.test(version)) {
    throw new Error(`version '${version}' must start with a letter, digit or _ (an image tag cannot start with '${version[0]}')`);
  }
}

/** The OCI image tag of a release version (see the mapping above); throws an Error when there is none. */
export function imageTagFor(version: string): string {
  validateVersion(version);
  const tag = version.replace(/[+/:]/g, (c) => TAG_CHAR[c]);
  // validateVersion guarantees this; kept as the last word so no invalid tag ever leaves here.
  if (!OCI_TAG.test(tag)) throw new Error(`version '${version}' maps to '${tag}', which is not a valid image tag`);
  return tag;
}
