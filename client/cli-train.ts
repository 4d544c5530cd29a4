// `shipyard train ...`: start a release train, its status (the graph, each release's own stage),
// the list of trains, and the decisions on its gates.
import { Option, type Command } from 'commander';
import { loadTrainFile } from '../spec/train-load.js';
import type { TriggerKind } from '../workflows/types.js';
import type { TrainDecisionReply, TrainStatus } from '../workflows/train-types.js';
import { exitCodeForOutcome } from './exit-codes.js';
import { gatewayApi, type DecisionContext } from './cli-decisions.js';
import { decideTrainGate, listTrains, parseCommitArgs, startTrain, trainStatus } from './train.js';

export interface TrainCommandContext extends DecisionContext {
  setExitCode: (code: number) => void;
}

const collect = (value: string, previous: string[] = []) => [...previous, ...value.split(',').filter(Boolean)];

export function formatTrain(s: TrainStatus & { stages?: Record<string, string> }, url?: string): string {
  const lines = [`train ${s.trainId}  ${s.outcome}  (rollback ${s.rollback}, maxParallel ${s.maxParallel})`];
  if (url) lines.push(`  ${url}`);
  if (s.failure) lines.push(`  stopped: ${s.failure.gate ? s.failure.message : `${s.failure.service} failed: ${s.failure.message}`}`);
  lines.push('services');
  const width = Math.max(...s.services.map((x) => x.name.length));
  for (const x of s.services) {
    const stage = s.stages?.[x.name];
    const deps = x.dependsOn.length ? ` after ${x.dependsOn.join(', ')}` : '';
    lines.push(`  ${x.name.padEnd(width)}  ${x.state.padEnd(11)}${stage && stage !== x.state ? ` [${stage}]` : ''}${deps}`);
    lines.push(`  ${' '.repeat(width)}  ${x.releaseId}${x.message ? `: ${x.message}` : ''}`);
  }
  if (s.gates.length) {
    lines.push('gates');
    for (const g of s.gates) {
      const who = g.approvers.length ? ` approvers ${g.approvers.join(', ')} (${g.approvedBy.length}/${g.required})` : '';
      lines.push(`  after ${g.after}: ${g.state}${who}${g.decisions.map((d) => `; ${d.decision} by ${d.by}${d.authenticated ? '' : ' (unauthenticated)'}`).join('')}`);
    }
  }
  return lines.join('\n');
}

export function registerTrainCommands(program: Command, ctx: TrainCommandContext): void {
  const { print, printJson } = ctx;
  const train = program.command('train').description('release trains: several services released in dependency order as one');
  train
    .command('start')
    .description('start a train (or attach to the running one with the same commits)')
    .requiredOption('-f, --file <train.yaml>', 'train spec')
    .option('--commit <service=sha>', 'the commit of a service (repeatable; every service needs one)', collect)
    .option('--as <user>', 'who is triggering (recorded as unauthenticated)', ctx.defaultIdentity())
    .addOption(new Option('--trigger <kind>', 'what started it').choices(['cli', 'jenkins', 'api'] satisfies TriggerKind[]).default(process.env.JENKINS_URL ? 'jenkins' : 'cli'))
    .option('--wait', 'wait until the train ends and exit with its outcome code')
    .action(async (opts) => {
      const spec = loadTrainFile(opts.file);
      const commits = parseCommitArgs(spec, opts.commit ?? []);
      const c = await ctx.getClient();
      const started = await startTrain(c, { train: spec, commits, trigger: { kind: opts.trigger, by: opts.as }, checkout: process.cwd() });
      if (!opts.wait) {
        if (ctx.json()) return printJson(started);
        print(`${started.started ? 'started' : started.state === 'running' ? 'attached to running' : 'already ended:'} train ${started.trainId}`);
        print(`  watch:  ${started.url}`);
        print(`  status: shipyard train status ${started.trainId}`);
        return;
      }
      try {
        await c.client.workflow.getHandle(started.trainId).result();
      } catch {
        // the final status says how it ended
      }
      const status = await trainStatus(c, started.trainId);
      ctx.setExitCode(exitCodeForOutcome(status.outcome));
      if (ctx.json()) printJson(status);
      else print(formatTrain(status, started.url));
    });
  train
    .command('status')
    .description("the train's graph: each service's state, release ID and its release's stage; the gates")
    .argument('<id>', 'train ID')
    .action(async (id) => {
      const c = await ctx.getClient();
      const status = await trainStatus(c, id);
      if (ctx.json()) printJson(status);
      else print(formatTrain(status, c.url(id)));
    });
  train
    .command('list')
    .description('trains, newest first (visibility)')
    .option('--limit <n>', 'at most this many', (v) => Number(v), 20)
    .action(async (opts) => {
      const rows = await listTrains(await ctx.getClient(), opts.limit);
      if (ctx.json()) return printJson(rows);
      if (!rows.length) return print('no trains');
      for (const r of rows) print(`${r.trainId}  ${r.outcome || r.status.toLowerCase()}  ${r.startedAt}`);
    });
  for (const kind of ['approve', 'reject'] as const) {
    train
      .command(kind)
      .description(kind === 'approve' ? 'approve the gate after a service' : 'reject the gate after a service: the train stops and rolls back')
      .argument('<id>', 'train ID')
      .requiredOption('--gate <service>', 'the service the gate is after')
      .option('--as <user>', 'development mode (no ID token): your Shipyard identity, recorded as unauthenticated', ctx.defaultIdentity())
      .option('--comment <text>', 'recorded in the train status')
      .option('--token-file <file>', 'a file holding your ID token (else SHIPYARD_ID_TOKEN or shipyard login)')
      .action(async (id, opts) => {
        // With an ID token through the gateway, which signs a statement for this train and gate.
        const api = gatewayApi(opts.tokenFile);
        if (api) {
          const r = await api.call<TrainDecisionReply & { by: string; authenticated: boolean }>('POST', `/api/trains/${encodeURIComponent(id)}/${kind}`, { gate: opts.gate, comment: opts.comment });
          if (ctx.json()) return printJson(r);
          return print(`gate after ${r.gate} ${r.decision} by ${r.by}${r.authenticated ? '' : ' (unauthenticated)'} (${r.approvals}/${r.required} approvals${r.closed ? ', gate closed' : ''})`);
        }
        const reply = await decideTrainGate(await ctx.getClient(), id, kind, { gate: opts.gate, approver: opts.as, comment: opts.comment, via: 'cli' });
        if (ctx.json()) return printJson({ ...reply, by: opts.as, authenticated: false });
        print(`gate after ${reply.gate} ${reply.decision} by ${opts.as} (unauthenticated) (${reply.approvals}/${reply.required} approvals${reply.closed ? ', gate closed' : ''})`);
      });
  }
}
