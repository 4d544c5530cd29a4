// `shipyard init`: scaffold a release spec for a Go repository. Scanning (Go modules, main packages,
// Helm charts) and rendering (the commented YAML) are separate so each can be tested on its own;
// initRepository ties them together, validates the text with the spec's own rules and writes it.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { parse } from 'yaml';
import { parseSpec } from '../spec/load.js';
import { DEFAULT_SPEC_PATH } from '../spec/paths.js';
import { releaseSpecJsonSchema } from '../spec/write-json-schema.js';

/** The JSON Schema copy written beside the spec. */
const SCHEMA_COPY = 'release-spec.schema.json';

/** A problem with the input of `shipyard init` (exit code 2). */
export class InitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InitError';
  }
}

export interface GoModule {
  /** Directory of go.mod, relative to the repository ('.' for its root), with forward slashes. */
  dir: string;
  /** The module path of go.mod (`module ...`), '' when it has none. */
  path: string;
}

export interface GoMain {
  /** Directory of the main package, relative to the repository. */
  dir: string;
  /** Directory of the module it belongs to, relative to the repository. */
  moduleDir: string;
  /** The package relative to the module, as the spec's source.goPackage: '.' or './cmd/x'. */
  pkg: string;
}

export interface RepoScan {
  root: string;
  modules: GoModule[];
  /** Main packages in sorted order of their directory. */
  mains: GoMain[];
  /** Chart directories (with Chart.yaml) under charts/, relative to the repository, sorted. */
  charts: string[];
}

export interface InitPlan {
  service: string;
  image: string;
  main: GoMain;
  otherMains: GoMain[];
  /** The chosen chart directory relative to the repository, or undefined: none was found. */
  chart?: string;
  otherCharts: string[];
}

/** Directories Go itself ignores (., _ prefixes, testdata) and ones that are never the service's. */
const SKIP_DIRS = new Set(['vendor', 'node_modules', 'testdata']);
const MAX_DEPTH = 12;
const MAX_DIRS = 20_000;
export const DEFAULT_TARGETS = ['linux/amd64', 'linux/arm64'];
export const DEFAULT_OUT = DEFAULT_SPEC_PATH;
/** Service names end up as helm release names (53 characters) and as `<service>-canary` (63). */
const SERVICE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const MAX_SERVICE = 53;

const posix = (p: string) => (p === '' ? '.' : p.split(sep).join('/'));

function skipDir(name: string): boolean {
  return name.startsWith('.') || name.startsWith('_') || SKIP_DIRS.has(name);
}

function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !skipDir(e.name))
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

/** Does this Go file declare `package main` with a `func main(` (test files and `//go:build ignore` files excluded)? */
export function isMainFile(text: string): boolean {
  if (/^\/\/go:build\s+ignore\s*$/m.test(text) || /^\/\/\s*\+build\s+ignore\s*$/m.test(text)) return false;
  return /^package\s+main\b/m.test(text) && /^func\s+main\s*\(/m.test(text);
}

function hasMain(dir: string): boolean {
  let names: string[];
  try {
    names = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith('.go') && !e.name.endsWith('_test.go'))
      .map((e) => e.name);
  } catch {
    return false;
  }
  return names.some((n) => {
    try {
      return isMainFile(readFileSync(join(dir, n), 'utf8'));
    } catch {
      return false;
    }
  });
}

function modulePath(goMod: string): string {
  try {
    return /^module\s+("?)([^"\s]+)\1/m.exec(readFileSync(goMod, 'utf8'))?.[2] ?? '';
  } catch {
    return '';
  }
}

/** Chart directories under `dir`: a directory with Chart.yaml is a chart (its own charts/ are subcharts). */
function findCharts(dir: string, depth = 0): string[] {
  if (existsSync(join(dir, 'Chart.yaml'))) return [dir];
  if (depth >= 3) return [];
  return subdirs(dir).flatMap((d) => findCharts(join(dir, d), depth + 1));
}

/** Finds the Go modules, their main packages and the Helm charts of the repository at `root`. */
export function scanRepository(root: string): RepoScan {
  const abs = resolve(root);
  if (!existsSync(abs) || !statSync(abs).isDirectory()) throw new InitError(`${root} is not a directory`);
  const modules: GoModule[] = [];
  const mainDirs: string[] = [];
  let seen = 0;
  const walk = (dir: string, depth: number) => {
    if (++seen > MAX_DIRS) return;
    if (existsSync(join(dir, 'go.mod'))) modules.push({ dir: posix(relative(abs, dir)), path: modulePath(join(dir, 'go.mod')) });
    if (hasMain(dir)) mainDirs.push(dir);
    if (depth < MAX_DEPTH) for (const d of subdirs(dir)) walk(join(dir, d), depth + 1);
  };
  walk(abs, 0);

  // A package belongs to the nearest module above it; packages outside every module are not buildable here.
  const moduleOf = (rel: string) =>
    modules
      .filter((m) => m.dir === '.' || rel === m.dir || rel.startsWith(`${m.dir}/`))
      .sort((a, b) => b.dir.length - a.dir.length)[0];
  const mains: GoMain[] = [];
  for (const dir of mainDirs) {
    const rel = posix(relative(abs, dir));
    const mod = moduleOf(rel);
    if (!mod) continue;
    const inner = mod.dir === '.' ? rel : posix(relative(mod.dir, rel));
    mains.push({ dir: rel, moduleDir: mod.dir, pkg: inner === '.' ? '.' : `./${inner}` });
  }
  mains.sort((a, b) => (a.dir < b.dir ? -1 : a.dir > b.dir ? 1 : 0));
  modules.sort((a, b) => (a.dir < b.dir ? -1 : a.dir > b.dir ? 1 : 0));

  const chartRoots = new Set([join(abs, 'charts'), ...modules.map((m) => join(abs, m.dir, 'charts'))]);
  const charts = [...new Set([...chartRoots].filter((d) => existsSync(d)).flatMap((d) => findCharts(d)))]
    .map((d) => posix(relative(abs, d)))
    .sort();
  return { root: abs, modules, mains, charts };
}

/** A service name derived from a directory or module name: a lowercase DNS label of at most 53 characters. */
export function toServiceName(name: string): string {
  const label = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .slice(0, MAX_SERVICE)
    .replace(/^-+|-+$/g, '');
  return label || 'service';
}

function checkServiceName(service: string): void {
  if (!SERVICE_NAME.test(service) || service.length > MAX_SERVICE) {
    throw new InitError(
      `--service '${service}' is not a valid service name: lowercase letters, digits and dashes, starting and ending with a letter or digit, at most ${MAX_SERVICE} characters (it becomes the helm release and '<service>-canary')`,
    );
  }
}

function nameOfMain(main: GoMain, scan: RepoScan): string {
  if (main.dir !== '.' && main.pkg !== '.') return basename(main.dir);
  // The module root is the main package: the module path's last element (without a /vN suffix).
  const mod = scan.modules.find((m) => m.dir === main.moduleDir);
  const parts = (mod?.path ?? '').split('/').filter(Boolean);
  if (parts.length > 1 && /^v\d+$/.test(parts[parts.length - 1])) parts.pop();
  return parts[parts.length - 1] || basename(main.dir === '.' ? scan.root : main.dir);
}

/**
 * Chooses the main package, the service name, the chart and the image: `cmd/<service>` when a service
 * is given and such a package exists, else the first main package in sorted order; the chart
 * `charts/<service>` when it exists, else the first chart found.
 */
export function planInit(scan: RepoScan, options: { service?: string; image?: string } = {}): InitPlan {
  if (scan.modules.length === 0) throw new InitError(`no go.mod found in ${scan.root}: shipyard init scaffolds a spec for a Go module`);
  if (scan.mains.length === 0) {
    throw new InitError(`no Go main package (package main with func main) found in the module(s) of ${scan.root}: ${scan.modules.map((m) => m.dir).join(', ')}`);
  }
  if (options.service !== undefined) checkServiceName(options.service);
  const isCmd = (m: GoMain, name: string) => m.dir === `cmd/${name}` || m.dir.endsWith(`/cmd/${name}`);
  const main = (options.service !== undefined && scan.mains.find((m) => isCmd(m, options.service!))) || scan.mains[0];
  const service = options.service ?? toServiceName(nameOfMain(main, scan));
  const chart = scan.charts.find((c) => basename(c) === service) ?? scan.charts[0];
  const image = options.image ?? `registry.example.com/${service}`;
  if (!image.trim() || /\s/.test(image)) throw new InitError(`--image '${image}' is not an image repository (e.g. registry.example.com/team/${service})`);
  return {
    service,
    image,
    main,
    otherMains: scan.mains.filter((m) => m !== main),
    chart,
    otherCharts: scan.charts.filter((c) => c !== chart),
  };
}

/** A YAML scalar: plain when that reads back as the same string (and is safe in flow style), quoted otherwise. */
function q(value: string): string {
  const plain = /^[A-Za-z0-9._/@+~-][A-Za-z0-9._/@+~:-]*$/.test(value) && !value.endsWith(':') && !value.includes('://');
  if (plain) {
    try {
      if (parse(value) === value) return value;
    } catch {
      // quote it
    }
  }
  return JSON.stringify(value);
}

/** A path relative to the spec file's directory, written the way the loader recognises local paths (./x, ../x). */
function fromSpecDir(specDir: string, target: string): string {
  const rel = posix(relative(specDir, target));
  if (rel === '.') return '.';
  if (rel.startsWith('../') || rel === '..' || isAbsolute(rel)) return rel;
  return `./${rel}`;
}

export interface RenderOptions {
  /** Absolute path the spec will be written to; relative paths in it are relative to its directory. */
  out: string;
  /** What the `# yaml-language-server: $schema=` line points at; the copy init writes beside the spec by default. */
  schema?: string;
}

/** The release spec for `plan`, as commented YAML. */
export function renderSpec(scan: RepoScan, plan: InitPlan, options: RenderOptions): string {
  const specDir = dirname(resolve(options.out));
  const s = plan.service;
  const repo = fromSpecDir(specDir, scan.root);
  const chart = plan.chart ? fromSpecDir(specDir, join(scan.root, plan.chart)) : `oci://registry.example.com/charts/${s}`;
  const schema = options.schema ?? `./${SCHEMA_COPY}`;
  const query = `(sum(rate(http_requests_total{namespace="production",track="canary",code=~"5.."}[1m])) or vector(0)) / sum(rate(http_requests_total{namespace="production",track="canary"}[1m]))`;
  const L: string[] = [];
  L.push(`# yaml-language-server: $schema=${schema}`);
  L.push(`# Release spec for ${s}, scaffolded by \`shipyard init\`. Review every line, then check it with`);
  L.push(`# \`shipyard spec validate <this file>\` and start a release with`);
  L.push(`# \`shipyard release start -f <this file> --commit <sha>\`, or once committed, from the repository:`);
  L.push(`# \`shipyard release start --repo <its git URL> --commit <sha>\`. Paths are relative to this file.`);
  L.push(`service: ${q(s)}`);
  L.push('source:');
  L.push(`  repo: ${q(repo)}${' '.repeat(Math.max(1, 20 - repo.length))}# this repository; a git URL when the workers run elsewhere`);
  L.push(`  dir: ${q(plan.main.moduleDir)}${' '.repeat(Math.max(1, 21 - plan.main.moduleDir.length))}# the Go module (directory of go.mod)`);
  L.push(`  goPackage: ${q(plan.main.pkg)}`);
  if (plan.otherMains.length > 0) {
    L.push('  # Other main packages in this repository (set dir and goPackage to build one of them instead):');
    for (const m of plan.otherMains) L.push(`  #   ${m.dir}  (dir: ${m.moduleDir}, goPackage: ${m.pkg})`);
  }
  L.push('build:');
  L.push(`  targets: [${DEFAULT_TARGETS.join(', ')}]   # GOOS/GOARCH pairs to build`);
  L.push('  test: true                # go test -race ./... before building');
  L.push('  vet: true');
  L.push('  ldflags: "-s -w"');
  L.push('  # versionVariable: main.version   # set a Go variable to the release version with -X');
  L.push('image:');
  L.push(`  repository: ${q(plan.image)}${plan.image === `registry.example.com/${s}` ? '   # placeholder: your registry (or shipyard init --image)' : ''}`);
  L.push(`  platforms: [${DEFAULT_TARGETS.join(', ')}]`);
  L.push('environments:');
  L.push('  - name: staging');
  L.push('    deploy:');
  if (!plan.chart) {
    L.push('      # No chart was found under charts/: this OCI reference is a placeholder. Point it at your chart');
    L.push('      # (a path relative to this file such as ./charts/x, repo/chart, or oci://...).');
  }
  L.push(`      helm: { chart: ${q(chart)}, release: ${q(s)}, namespace: staging }`);
  L.push('  - name: production');
  L.push('    # A second release to production waits for the running one (supersede or reject are the alternatives).');
  L.push('    concurrency: queue');
  L.push('    # Placeholder approver: list the Shipyard identities (user names, e-mail addresses) who may approve.');
  L.push('    approval: { approvers: [change-me], timeout: 24h, fourEyes: true }');
  L.push('    deploy:');
  L.push(`      # The stable release. Each release after the first runs as a canary first: Shipyard generates`);
  L.push(`      # ${s}-canary (the stable Deployment's template with the new image and track: canary), a`);
  L.push(`      # ${s}-canary Service and, if missing, the VirtualService; promotion upgrades this release.`);
  L.push(`      helm: { chart: ${q(chart)}, release: ${q(s)}, namespace: production }`);
  L.push('    canary:');
  L.push('      generate: true');
  L.push('      router:');
  L.push(`        # Traffic is split between the Service ${s} (stable) and ${s}-canary; set host: if the Service`);
  L.push('        # is named differently from the Deployment.');
  L.push(`        istio: { virtualService: ${q(s)}, namespace: production }`);
  L.push('      steps:');
  L.push('        - setWeight: 10');
  L.push('        - analysis: { metrics: [error-rate] }');
  L.push('        - setWeight: 50');
  L.push('        - setWeight: 100');
  L.push('      metrics:');
  L.push('        - name: error-rate');
  L.push('          prometheus:');
  L.push('            # Share of 5xx responses of the canary. `or vector(0)`: with no 5xx at all the numerator has');
  L.push('            # no series, which would read as "no data". The canary pods carry track="canary"; adapt the');
  L.push('            # metric name and labels to your service (and to how your Prometheus labels pods).');
  L.push(`            query: ${quoteSingle(query)}`);
  L.push('          thresholdRange: { max: 0.01 }   # at most 1% errors');
  L.push('          interval: 30s');
  L.push('          count: 3');
  L.push('          failureLimit: 1');
  L.push('# Deploy windows, notifications and more: see the README (Policy, Notifications).');
  L.push('# policy:');
  L.push('#   denyWindows:');
  L.push('#     - { cron: "0 22 * * *", duration: 8h, timezone: Europe/Berlin, reason: night freeze }');
  L.push('# notify:');
  L.push('#   - slack: { webhookEnv: SLACK_WEBHOOK_URL }');
  L.push('#     on: [waiting-approval, succeeded, failed, rolled-back]');
  if (plan.otherCharts.length > 0) L.push(`# Other charts found: ${plan.otherCharts.join(', ')}`);
  return `${L.join('\n')}\n`;
}

function quoteSingle(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

export interface InitOptions {
  dir?: string;
  service?: string;
  image?: string;
  force?: boolean;
  /** Where to write; relative to the current directory. Default: <dir>/.shipyard/release.yaml. */
  out?: string;
  schema?: string;
}

export interface InitResult {
  path: string;
  scan: RepoScan;
  plan: InitPlan;
  text: string;
  overwritten: boolean;
}

/** Scans, plans, renders, validates with the spec loader's rules and writes the spec. */
export function initRepository(options: InitOptions = {}): InitResult {
  const scan = scanRepository(options.dir ?? '.');
  const plan = planInit(scan, options);
  const path = resolve(options.out ?? join(scan.root, DEFAULT_OUT));
  const exists = existsSync(path);
  if (exists && !options.force) throw new InitError(`${path} already exists; not overwriting it (use --force to replace it)`);
  const text = renderSpec(scan, plan, { out: path, schema: options.schema });
  // The same checks loadSpecFile applies, local chart paths included, before anything is written.
  parseSpec(text, path, { baseDir: dirname(path) });
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text, { flag: options.force ? 'w' : 'wx' });
  // Editor completion that travels with the repository (not a path on this machine).
  if (!options.schema) writeFileSync(join(dirname(path), SCHEMA_COPY), releaseSpecJsonSchema());
  return { path, scan, plan, text, overwritten: exists };
}

/** What `shipyard init` prints: what it found and where it wrote. */
export function describeInit(result: InitResult): string[] {
  const { scan, plan } = result;
  const lines = [
    `Go module${scan.modules.length > 1 ? 's' : ''}: ${scan.modules.map((m) => `${m.dir}${m.path ? ` (${m.path})` : ''}`).join(', ')}`,
    `main package: ${plan.main.dir} (dir: ${plan.main.moduleDir}, goPackage: ${plan.main.pkg})`,
  ];
  if (plan.otherMains.length) lines.push(`  also found: ${plan.otherMains.map((m) => m.dir).join(', ')} (listed in a comment)`);
  lines.push(plan.chart ? `helm chart: ${plan.chart}` : `helm chart: none under charts/ (placeholder oci://registry.example.com/charts/${plan.service})`);
  if (plan.otherCharts.length) lines.push(`  also found: ${plan.otherCharts.join(', ')}`);
  lines.push(`service: ${plan.service}`, `image: ${plan.image}`);
  lines.push(`${result.overwritten ? 'overwrote' : 'wrote'} ${result.path}`);
  lines.push(`next: replace the placeholders (approver, registry, Prometheus query), then shipyard spec validate ${result.path}`);
  return lines;
}
