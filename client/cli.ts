#!/usr/bin/env node
// The shipyard CLI: what Jenkins and people use to start, watch and steer releases.
// Exit codes are in exit-codes.ts; --json prints machine-readable output on stdout.
import { userInfo } from 'node:os';
import { fileURLToPath } from 'node:url';
import { realpathSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import proto from '@temporalio/proto';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { loadSpecFile, SpecError } from '../spec/load.js';
import { releaseSpecJsonSchema } from '../spec/write-json-schema.js';
import { ConfigError } from '../config/temporal.js';
import type { TriggerKind } from '../workflows/types.js';
import { ShipyardClient, ShipyardUsageError, type FinalState, type StartedRelease } from './index.js';
import { EXIT, exitCodeForOutcome } from './exit-codes.js';
import { ProgressPrinter } from './progress.js';
import { formatList, formatStatus } from './format.js';
import { startFromRepo } from './pipeline.js';
import { DEFAULT_SPEC_PATH } from '../spec/paths.js';
import { DEFAULT_OUT, describeInit, InitError, initRepository } from './init.js';
import { DevCommandError, registerDevCommands } from './dev.js';
import { gatewayApi, registerDecisionCommands } from './cli-decisions.js';
import { registerTrainCommands } from './cli-train.js';
import { registerDoraCommands } from './cli-dora.js';
import { commitTimeIn, commitTimeOf } from './commit-time.js';

const TRIGGERS: TriggerKind[] = ['cli', 'jenkins', 'webhook', 'chat', 'demo', 'api'];

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** Who is running the CLI, as a Shipyard identity. */
function defaultIdentity(): string {
  const env = process.env;
  const name = env.SHIPYARD_USER || env.BUILD_USER_ID || env.GITLAB_USER_LOGIN || env.GITHUB_ACTOR || env.USER || safeUser();
  return name || 'unknown';
}

function safeUser(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((v) => v.trim()).filter(Boolean)];
}

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. */
export async function run(argv: string[], io: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) }): Promise<number> {
  let exitCode: number = EXIT.succeeded;
  let json = false;
  let client: ShipyardClient | undefined;
  const getClient = async () => (client ??= await ShipyardClient.connect());
  const print = (line = '') => io.out(`${line}\n`);
  const printJson = (value: unknown) => io.out(`${JSON.stringify(value, null, 2)}\n`);

  const program = new Command('shipyard')
    .description('Durable software releases on Temporal')
    .option('--json', 'machine-readable output on stdout')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError('(run with --help for usage)')
    .hook('preAction', (cmd) => {
      json = Boolean(cmd.optsWithGlobals().json);
    });

  const release = program.command('release').description('start releases');
  release
    .command('start')
    .description('start a release (or attach to the running one for the same service, environments and commit)')
    .option('-f, --file <spec.yaml>', 'release spec on this machine')
    .option('--repo <url>', 'read the spec from this application repository at the commit (pipelines as code)')
    .option('--spec-path <path>', `with --repo: the spec file in the repository (default ${DEFAULT_SPEC_PATH})`)
    .requiredOption('--commit <sha>', 'git commit to release')
    .option('--env <name>', 'environment to release to (repeatable or comma-separated; default: all in spec order)', collect)
    .option('--version <version>', 'version (image tag); default: first 12 characters of the commit')
    .option('--as <user>', 'who is triggering, without an ID token (recorded as unauthenticated)', defaultIdentity())
    .option('--token-file <file>', 'a file holding your ID token (else SHIPYARD_ID_TOKEN or shipyard login): the trigger is verified')
    .addOption(new Option('--trigger <kind>', 'what started it').choices(TRIGGERS).default(process.env.JENKINS_URL ? 'jenkins' : 'cli'))
    .option('--ref <ref>', 'git ref that triggered it, e.g. refs/tags/v1.2.3')
    .option('--build-url <url>', 'CI build URL, recorded for tracing', process.env.BUILD_URL)
    .option('--commit-time <iso>', "when the commit was made (ISO 8601), for DORA lead time; default: from the git checkout, when it has the commit")
    .option('--retry-failed', 'start a new attempt when the earlier release of this commit did not succeed')
    .option('--untrusted', 'the source is untrusted (e.g. a pull request): the test gate and compiler run sandboxed (bubblewrap)')
    .option('--wait', 'follow progress and exit with the outcome code')
    .action(async (opts) => {
      if (Boolean(opts.file) === Boolean(opts.repo)) throw new ShipyardUsageError('give the spec with exactly one of -f <spec.yaml> or --repo <url>');
      if (opts.specPath && !opts.repo) throw new ShipyardUsageError('--spec-path goes with --repo');
      // With an ID token the gateway vouches for who starts it (a signed start statement); the
      // identity is the token's, whatever --as says.
      const api = gatewayApi(opts.tokenFile);
      const me = api ? await api.call<{ identity: string }>('GET', '/api/whoami') : undefined;
      const trigger = { kind: opts.trigger, by: me?.identity ?? opts.as, ref: opts.ref, deliveryId: opts.buildUrl, commitTime: cliCommitTime(opts.commitTime) };
      const signStart = api ? (rel: string) => api.startStatement(rel) : undefined;
      const spec = opts.file ? loadSpecFile(opts.file) : undefined;
      const c = await getClient();
      if (opts.repo && !opts.wait && !json) print(`reading ${opts.specPath ?? DEFAULT_SPEC_PATH} from ${opts.repo} at ${opts.commit} on the build worker...`);
      const started = spec
        ? await c.start({
            spec,
            commit: String(opts.commit),
            version: opts.version,
            environments: opts.env,
            trigger,
            retryFailed: Boolean(opts.retryFailed),
            untrusted: Boolean(opts.untrusted),
            signStart,
            // A short commit is looked up in the checkout the CLI runs in first (Jenkins' workspace).
            checkout: process.cwd(),
          })
        : await startFromRepo(c, { repo: opts.repo, specPath: opts.specPath, commit: String(opts.commit), version: opts.version, environments: opts.env, trigger: { ...trigger, commitTime: trigger.commitTime ?? (await commitTimeIn([process.cwd()], String(opts.commit))) }, retryFailed: Boolean(opts.retryFailed), untrusted: opts.untrusted ? true : undefined, signStart });
      // Progress goes to stderr under --wait (stdout is then the outcome), to stdout otherwise.
      const say = opts.wait ? (line: string) => io.err(`${line}\n`) : print;
      if (started.state === 'ended') {
        exitCode = await reportEnded(c, started, { source: opts.file ? `-f ${opts.file}` : `--repo ${opts.repo}${opts.specPath ? ` --spec-path ${opts.specPath}` : ''}`, env: opts.env, json, wait: Boolean(opts.wait), say, printJson });
        return;
      }
      if (!opts.wait) {
        if (json) printJson(started);
        else {
          say(`${started.started ? 'started' : 'attached to running'} release ${started.releaseId}`);
          say(`  watch:  ${started.url}`);
          say(`  status: shipyard status ${started.releaseId}`);
        }
        return;
      }
      if (!json) say(`${started.started ? 'started' : 'attached to running'} release ${started.releaseId}\n  ${started.url}`);
      exitCode = await follow(c, started.releaseId, json, io, started);
    });

  program
    .command('wait')
    .description('follow a release until it ends; exits with its outcome code')
    .argument('<id>', 'release ID')
    .action(async (id) => {
      exitCode = await follow(await getClient(), id, json, io);
    });

  program
    .command('status')
    .description('show the stage, canary weight, metrics, approvals and compensation of a release')
    .argument('<id>', 'release ID')
    .action(async (id) => {
      const c = await getClient();
      const status = await c.status(id);
      const leases = await c.leases(status);
      if (json) printJson({ ...status, leases });
      else print(formatStatus(status, c.url(id), leases));
    });

  program
    .command('list')
    .description('list releases (visibility query on the Shipyard search attributes)')
    .option('--service <name>')
    .option('--stage <stage>')
    .option('--env <name>')
    .option('--outcome <outcome>')
    .option('--running', 'only running releases')
    .option('--limit <n>', 'at most this many', (v) => positiveInt(v, '--limit'), 50)
    .action(async (opts) => {
      const rows = await (await getClient()).list({
        service: opts.service,
        stage: opts.stage,
        environment: opts.env,
        outcome: opts.outcome,
        running: opts.running,
        limit: opts.limit,
      });
      if (json) return printJson(rows);
      if (!rows.length) return print('no releases match');
      print(formatList(rows));
    });

  registerDecisionCommands(program, { getClient, print, printJson, json: () => json, defaultIdentity });

  program
    .command('history')
    .description('the events of a release, as the Temporal UI shows them')
    .argument('<id>', 'release ID')
    .action(async (id) => {
      const events = await (await getClient()).history(id);
      // The same JSON `temporal workflow show -o json` prints, so histories can be replayed.
      if (json) return io.out(`${historyToJSON({ events })}\n`);
      for (const e of events) {
        const time = e.eventTime?.seconds ? new Date(Number(e.eventTime.seconds) * 1000).toISOString() : '';
        print(`${String(e.eventId).padStart(4)}  ${time}  ${describeEvent(e)}`);
      }
    });

  program
    .command('init')
    .description('scaffold a release spec for a Go repository (main package, Helm chart, staging and a canary production)')
    .argument('[dir]', 'the repository', '.')
    .option('--service <name>', 'service name; default: the main package directory (cmd/<name>)')
    .option('--image <repo>', 'image repository; default: registry.example.com/<service>')
    .option('--out <file>', `where to write the spec (default: <dir>/${DEFAULT_OUT})`)
    .option('--force', 'overwrite an existing spec')
    .action((dir, opts) => {
      const result = initRepository({ dir, service: opts.service, image: opts.image, out: opts.out, force: Boolean(opts.force) });
      if (json) {
        const { plan, scan } = result;
        return printJson({ path: result.path, overwritten: result.overwritten, service: plan.service, image: plan.image, main: plan.main, otherMains: plan.otherMains, chart: plan.chart ?? null, otherCharts: plan.otherCharts, modules: scan.modules });
      }
      for (const line of describeInit(result)) print(line);
    });

  const specCmd = program.command('spec').description('release spec tools');
  specCmd
    .command('validate')
    .description('check a release spec and print it with defaults applied')
    .argument('<file>')
    .action((file) => {
      const spec = loadSpecFile(file);
      if (json) printJson(spec);
      else print(`${file}: valid (${spec.service}, environments ${spec.environments.map((e) => e.name).join(', ')})`);
    });
  specCmd
    .command('schema')
    .description('print the JSON Schema of the release spec')
    .action(() => io.out(releaseSpecJsonSchema()));

  registerDoraCommands(program, { getClient, print, printJson, json: () => json });

  registerTrainCommands(program, { getClient, print, printJson, json: () => json, defaultIdentity, setExitCode: (code) => (exitCode = code) });

  registerDevCommands(program, {
    print,
    printJson,
    err: io.err,
    json: () => json,
    setExitCode: (code) => (exitCode = code),
  });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    exitCode = report(err, json, io);
  } finally {
    await client?.close().catch(() => undefined);
  }
  return exitCode;
}

async function follow(c: ShipyardClient, id: string, json: boolean, io: Io, started?: object): Promise<number> {
  const printer = new ProgressPrinter((line) => io.err(`${line}\n`));
  const final: FinalState = await c.wait(id, json ? undefined : (s) => printer.update(s));
  const code = exitCodeForOutcome(final.outcome);
  if (json) {
    io.out(`${JSON.stringify({ ...started, releaseId: id, outcome: final.outcome, exitCode: code, message: final.message, status: final.status }, null, 2)}\n`);
  } else {
    io.err(`release ${final.outcome}${final.message ? `: ${final.message}` : ''}\n  ${c.url(id)}\n`);
  }
  return code;
}

interface EndedContext {
  source: string;
  env?: string[];
  json: boolean;
  wait: boolean;
  say: (line: string) => void;
  printJson: (value: unknown) => void;
}

/**
 * `release start` of a release that had already ended: never "attached", but how it ended, with
 * that outcome's exit code, and how to start a new attempt when it did not succeed.
 */
async function reportEnded(c: ShipyardClient, started: StartedRelease, ctx: EndedContext): Promise<number> {
  const ended = started.ended!;
  const code = exitCodeForOutcome(ended.outcome);
  const succeeded = ended.outcome === 'succeeded';
  const retry = `shipyard release start ${ctx.source} --commit ${started.commit}${ctx.env?.length ? ` --env ${ctx.env.join(',')}` : ''} --retry-failed`;
  if (ctx.json) {
    // --wait --json promises the final status, as for a release it followed.
    const status = ctx.wait ? (await c.final(started.releaseId)).status : undefined;
    ctx.printJson({ ...started, outcome: ended.outcome, exitCode: code, message: ended.message, ...(succeeded ? {} : { retry }), ...(ctx.wait ? { status } : {}) });
    return code;
  }
  if (succeeded) {
    ctx.say(`release ${started.releaseId} already succeeded; a succeeded release is not run again`);
  } else {
    ctx.say(`release ${started.releaseId} already ended: ${ended.outcome}${ended.message ? `: ${ended.message}` : ''}`);
    ctx.say(`  to start a new attempt: ${retry}`);
  }
  ctx.say(`  watch:  ${started.url}`);
  ctx.say(`  status: shipyard status ${started.releaseId}`);
  return code;
}

function report(err: unknown, json: boolean, io: Io): number {
  let code: number = EXIT.error;
  let message = err instanceof Error ? err.message : String(err);
  // Temporal client errors wrap the server's reason ("Failed to start Workflow" <- search attribute not registered).
  const cause = (err as { cause?: { message?: string } })?.cause?.message;
  if (cause && !message.includes(cause)) message = `${message}: ${cause}`;
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.succeeded;
    // commander already printed the message
    if (json) io.out(`${JSON.stringify({ error: message, exitCode: EXIT.usage })}\n`);
    return EXIT.usage;
  }
  if (err instanceof SpecError || err instanceof ConfigError || err instanceof InitError) code = EXIT.usage;
  else if (err instanceof DevCommandError) code = err.exitCode;
  else if (err instanceof ShipyardUsageError) code = err.kind === 'not-found' ? EXIT.notFound : err.kind === 'refused' ? EXIT.refused : EXIT.usage;
  else if (isConnectionError(err)) message = `cannot reach Temporal (${message}); is it running? (npm start, or set TEMPORAL_ADDRESS)`;
  if (json) io.out(`${JSON.stringify({ error: message, exitCode: code })}\n`);
  else io.err(`shipyard: ${message}\n`);
  return code;
}

function isConnectionError(err: unknown): boolean {
  const text = String((err as Error)?.message ?? err);
  return /ECONNREFUSED|UNAVAILABLE|failed to connect|Connection refused|deadline exceeded|tcp connect error/i.test(text);
}

/** --commit-time: empty (a CI variable with nothing in it) is unset; anything else must be a date. */
function cliCommitTime(value: string | undefined): string | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const time = commitTimeOf(value.trim());
  if (!time) throw new ShipyardUsageError(`--commit-time '${value}' is not an ISO 8601 date (e.g. 2026-01-31T12:00:00Z)`);
  return time;
}

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new CommanderError(EXIT.usage, 'shipyard.invalidArgument', `${flag} must be a positive integer`);
  return n;
}

/** One line per history event: its type and the interesting part of its attributes. */
function describeEvent(e: Record<string, any>): string {
  const type = String(proto.temporal.api.enums.v1.EventType[e.eventType] ?? e.eventType).replace(/^EVENT_TYPE_/, '');
  const attrs =
    e.activityTaskScheduledEventAttributes?.activityType?.name ??
    e.timerStartedEventAttributes?.timerId ??
    e.workflowExecutionSignaledEventAttributes?.signalName ??
    e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name ??
    e.activityTaskFailedEventAttributes?.failure?.message ??
    e.workflowExecutionFailedEventAttributes?.failure?.message ??
    '';
  return `${type}${attrs ? `  ${attrs}` : ''}`;
}

const isMain = (() => {
  try {
    return realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
})();

if (isMain) {
  run(process.argv.slice(2)).then((code) => process.exit(code));
}
