// `shipyard dev ...`: the local stack (`npm start -- --local-cluster`) from the CLI.
//   dev add-service NAME   register a service: its namespace in the local cluster, its Prometheus job
//                          (reloaded in place), and the local runner runs its Deployments
//   dev services           what is registered, and the processes the local runner runs for it
//   dev down [--all]       the same as `npm run dev:down`
// The work is done by the stack's own scripts (scripts/dev-add-service.js, scripts/dev-down.js),
// loaded from this checkout at run time: they are plain JavaScript next to start.js, not compiled.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { EXIT } from './exit-codes.js';

// dist/client/dev.js -> the checkout's root.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** An error of a dev command, with the exit code it should end the CLI with. */
export class DevCommandError extends Error {
  override name = 'DevCommandError';
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export interface ServiceEntry {
  name: string;
  namespace: string;
  metricsPort?: number;
  metricsPath: string;
  trafficPath: string;
  addedAt?: string;
  updatedAt?: string;
}

interface RunnerProcess {
  namespace: string;
  deployment: string;
  image: string;
  pid: number;
  ports: Record<string, number>;
  metrics?: string;
  http?: string;
}

interface AddResult {
  service: ServiceEntry;
  previous?: ServiceEntry;
  servicesFile: string;
  namespace: { name: string; created: boolean };
  prometheus: { url: string; config: string; jobs: string[] };
  targets: string;
}

interface DevScripts {
  addService(dataDir: string, options: Partial<ServiceEntry>): Promise<AddResult>;
  listServices(dataDir: string): { stackRunning: boolean; servicesFile: string; services: (ServiceEntry & { targets: string; processes: RunnerProcess[] })[] };
}

interface ServicesModule {
  normalizeService(options: Partial<ServiceEntry>): ServiceEntry;
}

export function dataDir(): string {
  return process.env.SHIPYARD_DATA_DIR || join(ROOT, '.data');
}

async function load<T>(script: string): Promise<T> {
  return (await import(pathToFileURL(join(ROOT, 'scripts', script)).href)) as T;
}

export interface DevContext {
  print(line?: string): void;
  printJson(value: unknown): void;
  err(text: string): void;
  json(): boolean;
  setExitCode(code: number): void;
}

export function registerDevCommands(program: Command, ctx: DevContext): void {
  const dev = program.command('dev').description('the local stack (npm start -- --local-cluster): onboard your service, tear it down');

  dev
    .command('add-service')
    .description('register a service with the running local stack: namespace, Prometheus job, and the local runner runs its Deployments (again: updates)')
    .argument('<name>', 'service name (a DNS label); also its Prometheus job name')
    .option('--namespace <ns>', 'namespace its Deployments go to (default: the name)')
    .option('--metrics-port <port>', 'containerPort serving metrics, when no port is named `metrics`')
    .option('--metrics-path <path>', 'metrics path', '/metrics')
    .option('--traffic-path <path>', 'path the runner GETs every 100 ms on the `http` port', '/')
    .action(async (name: string, opts) => {
      const { normalizeService } = await load<ServicesModule>('dev-services.js');
      let entry: ServiceEntry;
      try {
        entry = normalizeService({ name, namespace: opts.namespace, metricsPort: opts.metricsPort, metricsPath: opts.metricsPath, trafficPath: opts.trafficPath });
      } catch (err) {
        throw new DevCommandError((err as Error).message, EXIT.usage);
      }
      const { addService } = await load<DevScripts>('dev-add-service.js');
      const r = await addService(dataDir(), entry);
      if (ctx.json()) return ctx.printJson(r);
      ctx.print(`${r.previous ? 'updated' : 'added'} service ${r.service.name} (${r.servicesFile})`);
      ctx.print(`  namespace:  ${r.namespace.name} ${r.namespace.created ? 'created' : '(already there)'}`);
      ctx.print(`  Prometheus: job ${r.service.name} (metrics path ${r.service.metricsPath}) loaded at ${r.prometheus.url} from ${r.prometheus.config}`);
      ctx.print(`  scraped:    the port named metrics${r.service.metricsPort ? `, else containerPort ${r.service.metricsPort}` : ''}, of each process; targets in ${r.targets}`);
      ctx.print(`  next:       deploy into namespace ${r.namespace.name} (helm, or a release); the local runner runs each Deployment as one process`);
    });

  dev
    .command('services')
    .description('list the services registered with the local stack and the processes the local runner runs for them')
    .action(async () => {
      const { listServices } = await load<DevScripts>('dev-add-service.js');
      const r = listServices(dataDir());
      if (ctx.json()) return ctx.printJson(r);
      if (!r.services.length) return ctx.print(`no services registered (${r.servicesFile}); add one: shipyard dev add-service NAME`);
      for (const s of r.services) {
        ctx.print(`${s.name}  namespace ${s.namespace}  metrics: port "metrics"${s.metricsPort ? ` (else ${s.metricsPort})` : ''}, path ${s.metricsPath}  traffic: ${s.trafficPath}`);
        if (!r.stackRunning) ctx.print('  (the stack is not running)');
        else if (!s.processes.length) ctx.print('  no processes (no Deployment with replicas > 0 in its namespace, or its image could not be pulled)');
        for (const p of s.processes) ctx.print(`  ${p.namespace}/${p.deployment}  pid ${p.pid}  ${p.image}  ${p.http ?? ''}${p.metrics ? `  metrics ${p.metrics}` : ''}`);
      }
    });

  dev
    .command('down')
    .description('delete the local stack\'s state (local cluster, registry, Prometheus data ...), like npm run dev:down')
    .option('--all', "also the Temporal dev server's database (every release's history)")
    .action(async (opts) => {
      const args = [join(ROOT, 'scripts/dev-down.js'), ...(opts.all ? ['--all'] : [])];
      const { code, output } = await new Promise<{ code: number; output: string }>((resolve, reject) => {
        const child = spawn(process.execPath, args, { env: { ...process.env, SHIPYARD_DATA_DIR: dataDir() }, stdio: ['ignore', 'pipe', 'pipe'] });
        let output = '';
        child.stdout.on('data', (d) => (output += d));
        child.stderr.on('data', (d) => (output += d));
        child.on('error', reject);
        child.on('close', (c) => resolve({ code: c ?? 1, output }));
      });
      if (ctx.json()) ctx.printJson({ exitCode: code === 0 ? EXIT.succeeded : EXIT.error, output: output.trimEnd().split('\n') });
      else if (code === 0) ctx.print(output.trimEnd());
      else ctx.err(output);
      if (code !== 0) ctx.setExitCode(EXIT.error);
    });
}
