// The local stack's Prometheus configuration: the jobs the demo writes (hello-api) plus one job per
// registered service (scripts/dev-services.js). A service's job discovers its targets from the
// file the local runner rewrites (file_sd: no reload needed when processes come and go); adding a
// service rewrites the config and reloads Prometheus through its lifecycle API (it runs with
// --web.enable-lifecycle), never restarting it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { demoDir, targetsDir, targetsFile, writeAtomic } from './dev-services.js';

export const prometheusConfigFile = (dataDir) => join(demoDir(dataDir), 'prometheus.yml');

/** The scrape job of one registered service. */
export function serviceJob(dataDir, service) {
  return {
    job_name: service.name,
    metrics_path: service.metricsPath || '/metrics',
    file_sd_configs: [{ files: [targetsFile(dataDir, service.name)], refresh_interval: '5s' }],
  };
}

/** Whether a job was generated for a registered service (its targets come from the runner's dir). */
function managed(dataDir, job) {
  const dir = targetsDir(dataDir);
  return (job.file_sd_configs ?? []).some((c) => (c.files ?? []).some((f) => String(f).startsWith(`${dir}/`)));
}

/**
 * The config object with the service jobs replaced by those of `services`; other jobs are kept.
 * A service whose name is the job name of a job it does not own is refused.
 */
export function withServiceJobs(config, dataDir, services) {
  const others = (config.scrape_configs ?? []).filter((j) => !managed(dataDir, j));
  for (const s of services) {
    if (others.some((j) => j.job_name === s.name)) throw new Error(`Prometheus already has a job named '${s.name}' (from the demo); pick another service name`);
  }
  return { ...config, scrape_configs: [...others, ...services.map((s) => serviceJob(dataDir, s))] };
}

/**
 * Rewrites <dataDir>/demo/prometheus.yml for `services` (keeping the other jobs in it, or `base`
 * when there is no file yet) and makes sure each service's targets file exists. Returns the path.
 */
export function writePrometheusConfig(dataDir, services, base) {
  const file = prometheusConfigFile(dataDir);
  // The demo passes its own jobs at start (base); `dev add-service` keeps whatever the file has.
  const current = base ?? (existsSync(file) ? parseYaml(readFileSync(file, 'utf8')) ?? {} : { global: { scrape_interval: '5s' } });
  const next = withServiceJobs(current, dataDir, services);
  for (const s of services) if (!existsSync(targetsFile(dataDir, s.name))) writeAtomic(targetsFile(dataDir, s.name), '[]\n');
  writeAtomic(file, `# Written by Shipyard's local stack (scripts/prometheus-config.js); jobs of registered services are regenerated.\n${stringifyYaml(next)}`);
  return file;
}

/**
 * POST /-/reload, then reads the loaded config back (/api/v1/status/config) and checks every job
 * in `expectJobs` is in it. Throws with Prometheus' own message when it refuses.
 */
export async function reloadPrometheus(url, expectJobs = []) {
  let res;
  try {
    res = await fetch(`${url}/-/reload`, { method: 'POST', signal: AbortSignal.timeout(15_000) });
  } catch (err) {
    throw new Error(`Prometheus at ${url} is not answering (${err.cause?.code ?? err.message}); is the local stack running? (npm start -- --local-cluster)`);
  }
  const text = (await res.text()).trim();
  if (res.status === 403 || /lifecycle api is not enabled/i.test(text)) {
    throw new Error(`Prometheus at ${url} was started without --web.enable-lifecycle (a stack from an older Shipyard); restart the stack once (Ctrl-C, npm start -- --local-cluster)`);
  }
  if (!res.ok) throw new Error(`Prometheus at ${url} refused the new config: HTTP ${res.status} ${text}`);
  const loaded = await (await fetch(`${url}/api/v1/status/config`)).json();
  const jobs = (parseYaml(loaded.data?.yaml ?? '')?.scrape_configs ?? []).map((j) => j.job_name);
  const missing = expectJobs.filter((j) => !jobs.includes(j));
  if (missing.length) throw new Error(`Prometheus at ${url} reloaded but its config lacks job(s) ${missing.join(', ')} (loaded: ${jobs.join(', ')})`);
  return jobs;
}
