// Which release (attempt, environment) an activity acts for, the key of its idempotency; and the image
// a release built, which build, deploy and canary contracts all pass along.
/** Identifies the release and environment an activity acts for; used to build idempotency keys. */
export interface ReleaseRef {
  releaseId: string;
  /**
   * This attempt of the release: the run ID its first run started with (kept across continue-as-new).
   * `--retry-failed` reuses the release ID but is a new attempt; every effect (config commit trailers,
   * notification keys, JIRA markers) is keyed on (releaseId, attempt), never on the release ID alone.
   * Optional only so histories recorded before attempts existed still decode; new releases always set it.
   */
  attempt?: string;
  service: string;
  version: string;
  commit: string;
  environment?: string;
  /**
   * The kubeconfig file of the cluster this input is about (a cluster of a multi-cluster environment
   * with `kubeconfig`); absent otherwise, so the inputs of other releases stay what they were.
   */
  kubeconfig?: string;
}

export interface ImageRef {
  repository: string;
  tag: string;
  /** Digest of the multi-platform index. */
  digest: string;
  platforms: string[];
}
