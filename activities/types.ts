// The contracts between the release workflow and the outside world. Workflows import these
// types only; each adapter module implements its part. Every activity says how it is idempotent.
import type {
  GitOpsDeploySpec,
  HelmDeploySpec,
  MetricSpec,
  NotifySpec,
  RouterSpec,
  JiraSpec,
  ReleaseSpec,
} from '../spec/schema.js';

export type { ImageRef, ReleaseRef } from './refs.js';
import type { ImageRef, ReleaseRef } from './refs.js';

// ---- build (task queue shipyard-build) ----

export interface SourceInput extends ReleaseRef {
  repo: string;
  /** Go module directory inside the repository. */
  dir?: string;
  goPackage: string;
  /**
   * Untrusted source (pull requests): go runs in the bubblewrap sandbox (activities/build/sandbox.ts).
   * Only present when true, so the inputs of trusted builds stay as they were.
   */
  sandbox?: boolean;
}

export interface TestGateInput extends SourceInput {
  vet: boolean;
}

export interface TestGateResult {
  packages: number;
  durationMs: number;
}

export interface BuildTargetInput extends SourceInput {
  target: string;
  ldflags: string;
  versionVariable?: string;
  /**
   * Where the artifact goes (activities/build/artifacts.ts): `local` or oci://registry/repository.
   * Absent: the build worker's default (SHIPYARD_ARTIFACT_STORE), else its own disk.
   */
  artifactStore?: string;
}

export interface BuildArtifact {
  target: string;
  /**
   * Where the binary is, content-addressed: file:///... on the disk of the build worker that made it,
   * or oci://registry/repository@sha256:<manifest digest>, an OCI artifact any build worker pulls by digest.
   */
  uri: string;
  /** sha256 of the binary itself (hex); every reader checks it. */
  sha256: string;
  size: number;
  cacheHit: boolean;
  goVersion?: string;
}

export interface BuildManifest {
  commit: string;
  version: string;
  goVersion?: string;
  artifacts: BuildArtifact[];
}

export interface PublishImageInput extends ReleaseRef {
  repository: string;
  platforms: string[];
  base: string;
  source: string;
  artifacts: BuildArtifact[];
}

export interface PromoteImageInput extends ReleaseRef {
  image: ImageRef;
  /** Repository of the environment (e.g. registry/prod/app); the tag stays the version. */
  repository: string;
}

export interface BuildActivities {
  /** Read-only apart from the shared build cache; safe to repeat. */
  runTestGate(input: TestGateInput): Promise<TestGateResult>;
  /** Content-addressed by (commit, target, settings): a repeat is a cache hit. */
  buildTarget(input: BuildTargetInput): Promise<BuildArtifact>;
  /** Pushing the same digest again is a no-op. */
  publishImage(input: PublishImageInput): Promise<ImageRef>;
  /** Copies by digest; copying what is already there is a no-op. The digest is verified. */
  promoteImage(input: PromoteImageInput): Promise<ImageRef>;
  /** Read-only: the JIRA issue keys in the commits since the last successful release (heartbeats while it scans). */
  scanJiraIssues(input: JiraScanInput): Promise<{ issues: string[] }>;
  /** Read-only: the release spec at a commit of the app repository, validated, its charts packaged. */
  readRepoSpec(input: RepoSpecInput): Promise<RepoSpecResult>;
  /** Read-only (git ls-remote): the trigger's ref points at the released commit, or RefMismatch. */
  verifyRef(input: RefCheckInput): Promise<RefCheckResult>;
}

export interface RefCheckInput extends ReleaseRef {
  repo: string;
  /** Full ref name, e.g. refs/tags/v1.2.3. */
  ref: string;
}

export interface RefCheckResult {
  ref: string;
  commit: string;
}

export interface RepoSpecInput {
  /** Git URL of the application repository. */
  repo: string;
  /** The commit to release (full or abbreviated hash). */
  commit: string;
  /** Spec file inside the repository; default .shipyard/release.yaml. */
  path?: string;
  environments?: string[];
  buildOnly?: boolean;
}

export interface RepoSpecResult {
  /** Validated, defaults applied, independent of the build worker's checkout. */
  spec: ReleaseSpec;
  /** Charts of the repository the spec names, by the key that replaced their path in the spec. */
  charts: Record<string, ChartArchive>;
  /** The full commit hash. */
  commit: string;
  releaseId: string;
  /** The selected environments in spec order; `all` when that is every one. */
  environments: string[];
  all: boolean;
  specPath: string;
  specSha256: string;
}

// ---- deploy (task queue shipyard-deploy) ----

/**
 * A packaged helm chart handed by content (build and deploy workers share no disk): what
 * activities/build/chart-package.ts packageChart returns, at most 1 MiB of .tgz.
 */
export interface ChartArchive {
  /** Chart.yaml name. */
  name: string;
  /** Chart.yaml version (SemVer). */
  version: string;
  /** sha256 of the .tgz, hex. */
  sha256: string;
  /** The .tgz, base64. */
  data: string;
}

export interface HelmInput extends ReleaseRef {
  helm: HelmDeploySpec;
  image: ImageRef | null;
  /** The chart by content: deployed instead of helm.chart (and its version/repo). */
  chartArchive?: ChartArchive;
}

export interface HelmRevision {
  release: string;
  namespace: string;
  /** Deployed revision, or null when the release does not exist. */
  revision: number | null;
}

export interface HelmRollbackInput extends ReleaseRef {
  helm: HelmDeploySpec;
  /** Revision to return to; null means the release did not exist before: uninstall it. */
  toRevision: number | null;
  /**
   * The workflow cancelled this release's own helm operation (abort while `helm --wait` ran): a
   * pending-* revision left by it is nobody's, so roll back at once instead of waiting for it to end.
   */
  interrupted?: boolean;
}

/** Promotion through helm: upgrade `helm.release` reusing its values, with the image at `imageValues`. */
export interface HelmPromoteInput extends ReleaseRef {
  /** The promotion target (release, namespace, chart, timeout, kubeContext). */
  helm: HelmDeploySpec;
  imageValues: { repository: string; tag: string; digest?: string };
  image: ImageRef;
  /** The chart by content: upgraded with instead of helm.chart (and its version/repo). */
  chartArchive?: ChartArchive;
}

/**
 * What an undo did, read back from the world. `undone`: it changed the world back; `unchanged`: the
 * world was already in that state; `skipped`: its target no longer exists (detail says which).
 */
export interface UndoResult {
  result: 'undone' | 'unchanged' | 'skipped';
  detail: string;
  /** Traffic undos: the weights read back after the undo. */
  weights?: RouteWeights;
}

export interface GitOpsInput extends ReleaseRef {
  gitops: GitOpsDeploySpec;
  image: ImageRef | null;
  /**
   * deploy (default): the environment's deploy commit; promote: the tag written to the stable values
   * (gitops.valuesFile / imageTagPath are then the promotion's). Part of the trailer key, so the two
   * commits of one release are told apart and each undo reverts its own.
   */
  purpose?: 'deploy' | 'promote';
}

export interface GitOpsCommit {
  repo: string;
  branch: string;
  /** The config commit this release made, or null when the file already had the tag. */
  commit: string | null;
  previousTag: string | null;
}

export interface HealthInput extends ReleaseRef {
  namespace: string;
  deployment: string;
  timeout: string;
  kubeContext?: string;
  /**
   * With Argo CD: wait for this Application to be Healthy and Synced at `revision` or at a later
   * revision that contains it (`repo` is the config repository, for the ancestry check).
   */
  argocd?: { application: string; namespace: string; revision: string; repo?: string };
  /**
   * The release's image: health passes only when the Deployment's pod template runs it (a container
   * whose image has this tag, or this digest when known) and those pods are ready. Null: no image.
   */
  image?: ImageRef | null;
}

export interface ProbeInput extends ReleaseRef {
  url: string;
  expectStatus: number;
  timeout: string;
}

export interface HealthReport {
  deployment: string;
  namespace: string;
  readyReplicas: number;
  replicas: number;
}

export interface RouteWeights {
  stable: number;
  canary: number;
}

export interface TrafficInput extends ReleaseRef {
  router: RouterSpec;
  namespace: string;
  kubeContext?: string;
  /**
   * Generated canary plumbing (canary.generate): destinations are told apart by host, one Service
   * per track, instead of by DestinationRule subsets. Absent: the subset mode.
   */
  hosts?: { stable: string; canary: string };
}

export interface WorkloadInput extends TrafficInput {
  deployment: string;
}

export interface ScaleInput extends WorkloadInput {
  replicas: number;
}

export interface ImagesInput extends WorkloadInput {
  images: Record<string, string>;
  timeout: string;
}

export interface PromoteInput extends TrafficInput {
  /** With workloads, the stable Deployment takes the canary's images before traffic returns to it. */
  workloads?: { stable: string; canary: string };
  timeout?: string;
}

export interface FaultInput extends TrafficInput {
  fault: { delay?: { percent: number; fixedDelay: string }; abort?: { percent: number; httpStatus: number } } | null;
}

export interface SetWeightInput extends TrafficInput {
  weight: number;
}

export interface RestoreTrafficInput extends TrafficInput {
  weights: RouteWeights;
}

export type * from './canary-types.js';
import type { CanaryJudgement, JudgeInput, MeasureInput, Measurement, MeasureSeriesInput, MeasureSeriesResult, PlumbingInput, PlumbingResult, RemovePlumbingInput, StableWorkloadInput } from './canary-types.js';

export interface DeployActivities {
  /** Read-only. */
  helmCurrentRevision(input: HelmInput): Promise<HelmRevision>;
  /** helm upgrade --install --atomic; a repeat with the same chart and values makes no new revision. */
  helmDeploy(input: HelmInput): Promise<HelmRevision>;
  /** Check-then-act: does nothing when the target revision is already what is deployed. */
  helmRollback(input: HelmRollbackInput): Promise<UndoResult>;
  /** Promotion: `helm upgrade --reuse-values` with the image; the same image again makes no new revision. */
  helmPromote(input: HelmPromoteInput): Promise<HelmRevision>;
  /** The commit carries Shipyard-Release and Shipyard-Attempt trailers; a repeat of the attempt finds it and does not commit again. */
  gitopsUpdate(input: GitOpsInput): Promise<GitOpsCommit>;
  /** Reverts the commit carrying this attempt's trailers, once; nothing to revert is `unchanged`. */
  gitopsRevert(input: GitOpsInput): Promise<UndoResult>;
  /** Read-only wait for the rollout to be ready. */
  checkHealth(input: HealthInput): Promise<HealthReport>;
  /** Read-only: the URL answers with the expected status. */
  httpProbe(input: ProbeInput): Promise<{ status: number }>;
  /** Read-only. */
  getTrafficWeights(input: TrafficInput): Promise<RouteWeights>;
  /** Setting the weights that are already applied is a no-op. */
  setTrafficWeight(input: SetWeightInput): Promise<RouteWeights>;
  /** Sets exactly the recorded weights (compensation); the result carries the weights read back. */
  restoreTraffic(input: RestoreTrafficInput): Promise<UndoResult>;
  /** Stable takes the new version, canary weight 0. Repeatable. */
  promoteCanary(input: PromoteInput): Promise<void>;
  /** Sets the canary's replicas; the same count again is a no-op. Returns the previous count. */
  scaleCanary(input: ScaleInput): Promise<{ previous: number }>;
  /** Read-only: container images of a Deployment. */
  readImages(input: WorkloadInput): Promise<Record<string, string>>;
  /** Sets container images back (compensation of a promotion); equal images are a no-op. */
  restoreImages(input: ImagesInput): Promise<UndoResult>;
  /** Compensation: sets the canary's replicas back; a missing Deployment is `skipped`. */
  restoreReplicas(input: ScaleInput): Promise<UndoResult>;
  /** Applies a fault on the route, or removes it (null); repeatable. */
  setFault(input: FaultInput): Promise<void>;
  /** Compensation: removes the fault; a missing route is `skipped`. */
  clearFault(input: TrafficInput): Promise<UndoResult>;
  /** Read-only: whether the stable Deployment of a generated canary exists. */
  stableWorkloadExists(input: StableWorkloadInput): Promise<{ exists: boolean }>;
  /**
   * Creates the canary Deployment (stable template, new image, canary labels), the canary Service and
   * the VirtualService when missing. Objects carry this attempt's annotations, so a repeat finds
   * its own and creates nothing twice; a same-named object that is not Shipyard's is a PlumbingConflict.
   */
  ensureCanaryPlumbing(input: PlumbingInput): Promise<PlumbingResult>;
  /** Compensation (and promotion, for the canary Deployment): deletes only this attempt's objects, by uid. */
  removeCanaryPlumbing(input: RemovePlumbingInput): Promise<UndoResult>;
  /** Read-only. */
  measureMetric(input: MeasureInput): Promise<Measurement>;
  /** Read-only: a series of measurements (background analyses); stops at the first verdict, heartbeats, honours cancellation. */
  measureSeries(input: MeasureSeriesInput): Promise<MeasureSeriesResult>;
  /** Read-only: samples canary and baseline over the input's window and judges them (canary.judge). */
  judgeCanary(input: JudgeInput): Promise<CanaryJudgement>;
}

// ---- integrations (task queue shipyard-deploy) ----

export interface NotifyInput extends ReleaseRef {
  channel: NotifySpec;
  event: string;
  /** Deduplication key derived from the workflow: one message per release event. */
  idempotencyKey: string;
  fields: Record<string, string | number | null>;
}

export interface JiraInput extends ReleaseRef {
  jira: JiraSpec;
  outcome: string;
  /** Source repository, to read the release's commit messages. */
  repo: string;
  /** The issue keys (scanned on the build worker by scanJiraIssues); absent in histories recorded before. */
  issues?: string[];
}

export interface JiraScanInput extends ReleaseRef {
  jira: JiraSpec;
  /** Source repository, to read the release's commit messages. */
  repo: string;
}

export interface IntegrationActivities {
  /** Sends once per idempotency key (checked before sending). */
  notify(input: NotifyInput): Promise<void>;
  /** Comments and transitions once per issue and outcome (checked before acting). */
  updateJira(input: JiraInput): Promise<{ issues: string[] }>;
}

export type AllActivities = BuildActivities & DeployActivities & IntegrationActivities;
