// Pipelines as code: the release spec and its charts live in the application repository and are
// read at the released commit, here on the build worker (which has the git credentials). The spec is
// validated with the same rules as `-f spec.yaml`; what it names in the repository is turned into
// content, because the deploy worker has no shared disk with this one:
//   - charts given as paths are packaged (`helm package`) and handed over as archives (by content)
//   - values files given as paths are merged into the environment's values
//   - source.repo given as a path (`..` from .shipyard/) must be the repository itself: it becomes its URL
// A spec that cannot be used fails at once (InvalidSpec) with file:line:col issues, nothing deployed.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { parse } from 'yaml';
import { formatPath, parseSpec, positionIn, SpecError, type SpecIssue } from '../../spec/load.js';
import { DEFAULT_SPEC_PATH, isLocalChart, isLocalRepo } from '../../spec/paths.js';
import type { ReleaseSpec } from '../../spec/schema.js';
import { releaseIdFor, releaseId, selectEnvironments } from '../../client/release-id.js';
import type { ChartArchive, RepoSpecInput, RepoSpecResult } from '../types.js';
import { packageChart } from './chart-package.js';
import { checkout, gitFor } from './source.js';
import type { BuildSettings } from './settings.js';
import { mergeValues } from '../helm-values.js';

export { DEFAULT_SPEC_PATH };

/** The checkout directory key of a repository: its URL hashed (a URL is no directory name). */
export function repoKey(repo: string): string {
  return `repo-${createHash('sha256').update(repo).digest('hex').slice(0, 16)}`;
}

function invalid(source: string, issues: SpecIssue[]): ApplicationFailure {
  const err = new SpecError(source, issues);
  return ApplicationFailure.create({ message: err.message, type: 'InvalidSpec', nonRetryable: true, details: [{ issues: err.issues }] });
}

/** `path` inside `root` (symlinks resolved), or undefined when it leaves the repository. */
function inside(root: string, path: string): string | undefined {
  const real = existsSync(path) ? realpathSync(path) : path;
  const rel = relative(realpathSync(root), real);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel)) ? real : undefined;
}


/** The key a packaged chart is known by in the release input: where it was, at which commit. */
export function chartKey(repoPath: string, commit: string): string {
  return `app-repo:${repoPath}@${commit.slice(0, 12)}`;
}

/**
 * Makes the spec independent of this checkout. Issues (paths outside the repository, missing files)
 * are collected and reported together, like the schema's.
 */
async function detach(spec: ReleaseSpec, ctx: { root: string; specDir: string; specPath: string; text: string; repo: string; commit: string }): Promise<{ spec: ReleaseSpec; charts: Record<string, ChartArchive> }> {
  const issues: { path: PropertyKey[]; message: string }[] = [];
  const charts: Record<string, ChartArchive> = {};
  const local = (p: string, field: PropertyKey[]): string | undefined => {
    const abs = resolve(ctx.specDir, p);
    const within = inside(ctx.root, abs);
    if (!within) issues.push({ path: field, message: `'${p}' is outside the repository` });
    else if (!existsSync(within)) issues.push({ path: field, message: `'${p}' does not exist in the repository at ${ctx.commit.slice(0, 12)}` });
    return within && existsSync(within) ? within : undefined;
  };
  if (isLocalRepo(spec.source.repo)) {
    const abs = resolve(ctx.specDir, spec.source.repo);
    if (inside(ctx.root, abs) !== realpathSync(ctx.root)) {
      issues.push({ path: ['source', 'repo'], message: `'${spec.source.repo}' is a path: in a spec read from the repository it can only be the repository itself (e.g. '..' from .shipyard/), or a git URL` });
    } else {
      spec.source.repo = ctx.repo;
    }
  }
  const packaged = new Map<string, string>();
  const packageAt = async (chart: string, field: PropertyKey[]): Promise<string> => {
    if (!isLocalChart(chart)) return chart;
    const dir = local(chart, field);
    if (!dir) return chart;
    const repoPath = relative(realpathSync(ctx.root), dir).split(sep).join('/') || '.';
    const key = chartKey(repoPath, ctx.commit);
    if (!packaged.has(dir)) {
      charts[key] = await packageChart(dir);
      packaged.set(dir, key);
    }
    return key;
  };
  for (const [i, env] of spec.environments.entries()) {
    const base = ['environments', i];
    const { helm, gitops } = env.deploy;
    if (helm) {
      helm.chart = await packageAt(helm.chart, [...base, 'deploy', 'helm', 'chart']);
      // Values files from the repository become values: the deploy worker cannot read this checkout.
      let merged: Record<string, unknown> = {};
      const kept: string[] = [];
      for (const [j, f] of helm.valuesFiles.entries()) {
        if (isAbsolute(f) && !inside(ctx.root, f)) {
          kept.push(f); // a file on the deploy worker, named absolutely: left to it
          continue;
        }
        const file = local(f, [...base, 'deploy', 'helm', 'valuesFiles', j]);
        if (file) merged = mergeValues(merged, (parse(readFileSync(file, 'utf8')) ?? {}) as Record<string, unknown>);
      }
      helm.values = mergeValues(merged, helm.values);
      helm.valuesFiles = kept;
    }
    if (gitops && isLocalRepo(gitops.repo) && !isAbsolute(gitops.repo)) {
      issues.push({ path: [...base, 'deploy', 'gitops', 'repo'], message: `'${gitops.repo}' is a relative path: a spec read from the repository names its config repository by URL` });
    }
    const promote = env.canary?.promote?.helm;
    if (promote?.chart) promote.chart = await packageAt(promote.chart, [...base, 'canary', 'promote', 'helm', 'chart']);
  }
  if (issues.length) throw invalid(ctx.specPath, issues.map((i) => ({ path: formatPath(i.path), message: i.message, ...positionIn(ctx.text, i.path) })));
  return { spec, charts };
}

/** Reads, validates and detaches the spec at `input.path` of `input.repo` at `input.commit`. */
export async function readRepoSpec(input: RepoSpecInput, settings: BuildSettings): Promise<RepoSpecResult> {
  const specPath = (input.path ?? DEFAULT_SPEC_PATH).replace(/^\.\//, '');
  const dir = await checkout(input.repo, input.commit, repoKey(input.repo), settings);
  const commit = (await gitFor(dir, settings).revparse(['HEAD'])).trim();
  const file = join(dir, specPath);
  if (!inside(dir, file)) throw invalid(specPath, [{ path: '', message: 'the spec path is outside the repository' }]);
  if (!existsSync(file)) {
    throw invalid(specPath, [{ path: '', message: `no release spec at ${specPath} in ${input.repo} at ${commit.slice(0, 12)} (run \`shipyard init\` in the repository to write one)` }]);
  }
  const text = readFileSync(file, 'utf8');
  let spec: ReleaseSpec;
  try {
    // No base directory: the files it names are checked below, inside the repository only.
    spec = parseSpec(text, specPath);
  } catch (err) {
    if (err instanceof SpecError) throw invalid(specPath, err.issues);
    throw err;
  }
  const detached = await detach(spec, { root: dir, specDir: dirname(file), specPath, text, repo: input.repo, commit });
  const known = detached.spec.environments.map((e) => e.name);
  let id: string;
  let environments: string[];
  let all: boolean;
  try {
    if (input.buildOnly) {
      if (!detached.spec.build) throw new Error(`a build-only release needs a build section in ${specPath}`);
      id = releaseId(detached.spec.service, ['build'], commit);
      environments = [];
      all = false;
    } else {
      ({ environments, all } = selectEnvironments(known, input.environments));
      id = releaseIdFor(detached.spec.service, known, input.environments, commit);
    }
  } catch (err) {
    throw ApplicationFailure.nonRetryable((err as Error).message, 'InvalidReleaseInput');
  }
  return {
    spec: detached.spec,
    charts: detached.charts,
    commit,
    releaseId: id,
    environments,
    all,
    specPath,
    specSha256: createHash('sha256').update(readFileSync(file)).digest('hex'),
  };
}
