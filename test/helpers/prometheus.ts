// A real Prometheus (Debian's) on 127.0.0.1 with a temp data dir, scraping the given targets every
// second; and real example-service processes whose error rate the test controls.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXAMPLE_SERVICE } from './git.js';
import { freePort } from './net.js';
import { eventually } from './temporal.js';

export interface Prometheus {
  url: string;
  port: number;
  /** Instant query value (null when no data). */
  query(q: string): Promise<number | null>;
  stop(): Promise<void>;
  restart(): Promise<void>;
}

export interface PrometheusOptions {
  /** Rule files' contents (YAML), evaluated every second. */
  rules?: string[];
  /** host:port of an Alertmanager the firing alerts are sent to. */
  alertmanager?: string;
}

export async function startPrometheus(targets: string[], port?: number, opts: PrometheusOptions = {}): Promise<Prometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'prom-'));
  const p = port ?? (await freePort());
  const ruleFiles = (opts.rules ?? []).map((text, i) => {
    const file = join(dir, `rules-${i}.yml`);
    writeFileSync(file, text);
    return file;
  });
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]\n` +
      (ruleFiles.length ? `rule_files: [${ruleFiles.map((f) => `'${f}'`).join(', ')}]\n` : '') +
      (opts.alertmanager ? `alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['${opts.alertmanager}']\n` : ''),
  );
  let child: ChildProcess | undefined;
  const url = `http://127.0.0.1:${p}`;
  const start = async () => {
    child = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${p}`, '--log.level=error', ...(opts.alertmanager ? ['--rules.alert.resend-delay=1s'] : [])], { stdio: 'ignore' });
    await eventually(async () => (await fetch(`${url}/-/ready`)).ok, 30_000, 'prometheus ready');
  };
  const stop = () =>
    new Promise<void>((resolve) => {
      if (!child || child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  await start();
  return {
    url,
    port: p,
    async query(q) {
      const res = (await (await fetch(`${url}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as { data: { result: { value: [number, string] }[] } };
      const v = res.data.result[0]?.value?.[1];
      const n = v === undefined ? null : Number(v);
      return n === null || Number.isNaN(n) ? null : n;
    },
    stop,
    async restart() {
      await stop();
      await start();
    },
  };
}

export interface App {
  url: string;
  target: string;
  /** Sets the share of requests answered 500, and a delay added to every request (e.g. '50ms'). */
  fault(errorRate: number, latency?: string): Promise<void>;
  stop(): void;
}

/** Runs the example service reporting `version` in its metrics, with a steady load of requests. */
export async function startApp(version: string, rps = 20): Promise<App> {
  const port = await freePort();
  // The version label in its metrics is the link-time main.version: one build per version (Go's cache makes it quick).
  const versioned = join(mkdtempSync(join(tmpdir(), `hello-${version}-`)), 'hello');
  execFileSync('go', ['build', '-o', versioned, '-ldflags', `-X main.version=${version}`, './cmd/hello'], { cwd: EXAMPLE_SERVICE, env: { ...process.env, CGO_ENABLED: '0' } });
  const child = spawn(versioned, [], { env: { ADDR: `127.0.0.1:${port}` }, stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  await eventually(async () => (await fetch(`${url}/healthz`)).ok, 10_000, `${version} app`);
  const load = setInterval(() => {
    fetch(`${url}/`).then((r) => r.arrayBuffer()).catch(() => undefined);
  }, 1000 / rps);
  return {
    url,
    target: `127.0.0.1:${port}`,
    async fault(errorRate, latency) {
      const res = await fetch(`${url}/admin/fault?errorRate=${errorRate}${latency ? `&latency=${latency}` : ''}`, { method: 'POST' });
      if (!res.ok) throw new Error(`fault switch: ${res.status}`);
    },
    stop() {
      clearInterval(load);
      child.kill('SIGKILL');
    },
  };
}

/** Share of 5xx among the version's requests; `or vector(0)` because with no 5xx yet the numerator has no series. */
export const errorRateQuery = (version: string) =>
  `(sum(rate(http_requests_total{code=~"5..",version="${version}"}[5s])) or vector(0)) / sum(rate(http_requests_total{version="${version}"}[5s]))`;
