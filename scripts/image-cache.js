// Images for the local runner: the filesystem of an image (one platform) unpacked into a cache
// directory keyed by the platform manifest's digest, and its config (Entrypoint, Cmd, Env,
// WorkingDir). With crane: `crane digest`, `crane config`, `crane export ... - | tar -x`.
// An image already unpacked (same digest) is not pulled again.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** linux/<the Go architecture of this machine>: what an image must offer to run here. */
export function hostPlatform() {
  const arch = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' }[process.arch] ?? process.arch;
  return `linux/${arch}`;
}

/** The repository of an image reference (tag or digest removed; a registry port stays). */
export function repositoryOf(image) {
  return image.replace(/[:@][^/]*$/, '');
}

async function crane(args, env) {
  try {
    const { stdout } = await run('crane', args, { env, maxBuffer: 16 * 1024 * 1024, timeout: 120_000 });
    return stdout.trim();
  } catch (err) {
    const detail = (err.stderr || err.message || '').trim().split('\n').pop();
    throw new Error(`crane ${args[0]} failed: ${detail}`);
  }
}

/** `crane export IMAGE - | tar -x -C dir`, failing when either side does. */
function exportInto(image, platform, dir, env) {
  return new Promise((resolve, reject) => {
    const exporter = spawn('crane', ['export', '--platform', platform, image, '-'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const tar = spawn('tar', ['-x', '-C', dir, '--no-same-owner'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let errors = '';
    exporter.stderr.on('data', (d) => (errors += d));
    tar.stderr.on('data', (d) => (errors += d));
    exporter.stdout.pipe(tar.stdin);
    const codes = [];
    const done = (what) => (code) => {
      codes.push([what, code]);
      if (codes.length < 2) return;
      const bad = codes.filter(([, c]) => c !== 0);
      if (bad.length) reject(new Error(`unpacking ${image} failed (${bad.map(([w, c]) => `${w} exit ${c}`).join(', ')}): ${errors.trim().split('\n').pop()}`));
      else resolve();
    };
    exporter.on('error', reject);
    tar.on('error', reject);
    exporter.on('close', done('crane export'));
    tar.on('close', done('tar'));
  });
}

/**
 * The image unpacked for `platform` under cacheDir: { digest, rootfs, config } where config is the
 * image config's `config` (Entrypoint, Cmd, Env, WorkingDir). `env` is the environment crane runs
 * in (PATH must find crane).
 */
export async function pullImage(image, { cacheDir, platform = hostPlatform(), env = process.env }) {
  const digest = await crane(['digest', '--platform', platform, image], env);
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new Error(`crane digest ${image} printed '${digest}', not a digest`);
  const dir = join(cacheDir, digest.replace(':', '-'));
  const rootfs = join(dir, 'rootfs');
  const configFile = join(dir, 'config.json');
  if (!existsSync(configFile)) {
    // Unpack next to the final place, then rename: a half-unpacked image is never used.
    const tmp = `${dir}.${process.pid}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(join(tmp, 'rootfs'), { recursive: true });
    try {
      const pinned = `${repositoryOf(image)}@${digest}`;
      const imageConfig = JSON.parse(await crane(['config', '--platform', platform, pinned], env));
      if (imageConfig.os && `${imageConfig.os}/${imageConfig.architecture}` !== platform) {
        throw new Error(`${image} is ${imageConfig.os}/${imageConfig.architecture}, this machine runs ${platform}`);
      }
      await exportInto(pinned, platform, join(tmp, 'rootfs'), env);
      writeFileSync(join(tmp, 'config.json'), JSON.stringify(imageConfig.config ?? {}, null, 2));
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      throw err;
    }
  }
  return { digest, rootfs, config: JSON.parse(readFileSync(configFile, 'utf8')) };
}
