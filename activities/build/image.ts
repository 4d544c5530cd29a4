// OCI images without a Docker daemon, with crane (go-containerregistry): one image per platform
// holding the static binary (on scratch or a configured base), labelled with commit, version and
// source, then a multi-platform index tagged with the version. Layers are reproducible tars, so the
// same binaries give the same digests and a re-push is a no-op. Promotion copies by digest.
import { mkdtemp, mkdir, copyFile, chmod, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { runChecked } from '../exec.js';
import { imageTagFor } from '../../spec/version.js';
import type { ImageRef, PromoteImageInput, PublishImageInput } from '../types.js';
import type { BuildSettings } from './settings.js';
import { crane, REPOSITORY_PATTERN, type ImageTools } from './crane.js';
import type { ArtifactReader } from './artifacts.js';

export type { ImageTools } from './crane.js';

function digestOf(ref: string): string {
  const m = /@(sha256:[0-9a-f]{64})/.exec(ref) ?? /^(sha256:[0-9a-f]{64})$/.exec(ref);
  if (!m) throw new Error(`expected a digest reference, got '${ref}'`);
  return m[1];
}

/** A layer with the binary at /app/<name>: fixed owner, mode and mtime, so its digest depends only on the binary. */
async function layerTar(binaryPath: string, name: string): Promise<{ tar: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'layer-'));
  await mkdir(join(dir, 'root', 'app'), { recursive: true });
  await copyFile(binaryPath, join(dir, 'root', 'app', name));
  await chmod(join(dir, 'root', 'app', name), 0o755);
  const tar = join(dir, 'layer.tar');
  await runChecked('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '--mode=go-w', '-cf', tar, '-C', join(dir, 'root'), 'app']);
  return { tar, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function publishImage(input: PublishImageInput, settings: BuildSettings, tools: ImageTools, artifacts: ArtifactReader): Promise<ImageRef> {
  const { repository } = input;
  if (!REPOSITORY_PATTERN.test(repository)) {
    throw ApplicationFailure.nonRetryable(`image repository '${repository}' is not registry/path`, 'InvalidSpec');
  }
  const tag = tagOf(input.version);
  const manifests: string[] = [];
  for (const platform of input.platforms) {
    const artifact = input.artifacts.find((a) => a.target === platform);
    if (!artifact) throw ApplicationFailure.nonRetryable(`no build artifact for image platform ${platform}`, 'InvalidSpec');
    const [os, arch, variant] = platform.split('/');
    const binary = `${input.service}${os === 'windows' ? '.exe' : ''}`;
    // A local, verified copy: pulled by digest from the artifact's store when this worker did not build it.
    const layer = await layerTar(await artifacts.open(artifact), binary);
    try {
      const platformTag = `${repository}:${tag}-${[os, arch, variant].filter(Boolean).join('-')}`;
      // --platform picks the base image's platform; the empty base gets its platform from mutate below.
      const base = input.base && input.base !== 'scratch' ? ['--base', input.base, '--platform', platform] : ['--oci-empty-base'];
      await crane(tools, settings, ['append', '-f', layer.tar, '-t', platformTag, ...base], repository);
      const labelled = await crane(
        tools,
        settings,
        [
          'mutate',
          platformTag,
          '--set-platform',
          platform,
          '--entrypoint',
          `/app/${binary}`,
          '--label',
          `org.opencontainers.image.revision=${input.commit}`,
          '--label',
          `org.opencontainers.image.version=${input.version}`,
          '--label',
          `org.opencontainers.image.source=${input.source}`,
          '--label',
          `org.opencontainers.image.title=${input.service}`,
          '-t',
          platformTag,
        ],
        repository,
      );
      manifests.push(`${repository}@${digestOf(labelled)}`);
    } finally {
      await layer.cleanup();
    }
  }
  const indexRef = await crane(tools, settings, ['index', 'append', ...manifests.flatMap((m) => ['-m', m]), '-t', `${repository}:${tag}`], repository);
  const digest = digestOf(indexRef);
  const pushed = await crane(tools, settings, ['digest', `${repository}:${tag}`], repository);
  if (pushed !== digest) throw new Error(`registry serves ${pushed} for ${repository}:${tag}, expected ${digest}`);
  return { repository, tag, digest, platforms: input.platforms };
}

/** Copies an image by digest into another repository (Harbor-style project promotion) and verifies the digest. */
export async function promoteImage(input: PromoteImageInput, settings: BuildSettings, tools: ImageTools): Promise<ImageRef> {
  const source = `${input.image.repository}@${input.image.digest}`;
  const target = `${input.repository}:${input.image.tag}`;
  await crane(tools, settings, ['copy', source, target], input.repository);
  const copied = await crane(tools, settings, ['digest', target], input.repository);
  if (copied !== input.image.digest) {
    throw ApplicationFailure.nonRetryable(`promotion changed the digest: ${target} is ${copied}, source ${input.image.digest}`, 'DigestMismatch');
  }
  return { ...input.image, repository: input.repository };
}

/** The image tag of a release version (spec/version.ts); a version no tag can hold fails for good. */
function tagOf(version: string): string {
  try {
    return imageTagFor(version);
  } catch (err) {
    throw ApplicationFailure.nonRetryable((err as Error).message, 'InvalidVersion');
  }
}
