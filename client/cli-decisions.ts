// The CLI commands that decide about releases (approve, reject, abort, pause, resume, freeze,
// unfreeze) and the identity behind them (login, whoami). With an ID token they go through the
// gateway's API, which verifies the token and signs a statement the release checks; without one
// they go to Temporal directly and are recorded, and printed, as unauthenticated.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { ShipyardClient } from './index.js';
import { credentials, GatewayApi, saveLogin, tokenIdentity, type Credentials } from './auth/gateway-api.js';
import { login } from './auth/login.js';
import { ShipyardUsageError } from './errors.js';
import { generateDecisionKey, parseTrustedKeys } from '../config/decision-keys.js';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DecisionContext {
  getClient: () => Promise<ShipyardClient>;
  print: (line?: string) => void;
  printJson: (value: unknown) => void;
  json: () => boolean;
  defaultIdentity: () => string;
}

const UNAUTH = ' (unauthenticated)';

/** The gateway API when an ID token is configured; undefined in development mode. */
export function gatewayApi(tokenFile?: string): GatewayApi | undefined {
  const creds: Credentials | undefined = credentials(process.env, tokenFile);
  return creds ? new GatewayApi(creds) : undefined;
}

/** The `--as` name for an unauthenticated decision: required, since nothing vouches for it. */
function claimed(opts: { as?: string }, what: string): string {
  if (!opts.as) throw new ShipyardUsageError(`no ID token (SHIPYARD_ID_TOKEN, --token-file, shipyard login): name yourself with --as to ${what} unauthenticated (development mode)`);
  return opts.as;
}

export function registerDecisionCommands(program: Command, ctx: DecisionContext): void {
  const { print, printJson } = ctx;

  for (const kind of ['approve', 'reject'] as const) {
    program
      .command(kind)
      .description(kind === 'approve' ? 'approve the pending gate of a release' : 'reject the pending gate; the release rolls back')
      .argument('<id>', 'release ID')
      .option('--as <user>', 'development mode (no ID token): your Shipyard identity, recorded as unauthenticated')
      .option('--comment <text>', 'recorded in history and status')
      .option('--gate <gate>', 'the gate you mean; refused if another gate is pending')
      .option('--token-file <file>', 'a file holding your ID token (else SHIPYARD_ID_TOKEN or shipyard login)')
      .action(async (id, opts) => {
        const api = gatewayApi(opts.tokenFile);
        if (api) {
          const reply = await api.call<{ by: string; authenticated: boolean; gate: string; decision: string; approvals: number; required: number; closed: boolean }>(
            'POST',
            `/api/releases/${encodeURIComponent(id)}/${kind}`,
            { gate: opts.gate, comment: opts.comment },
          );
          if (ctx.json()) return printJson(reply);
          return print(`${reply.gate} ${reply.decision} by ${reply.by}${reply.authenticated ? '' : UNAUTH} (${reply.approvals}/${reply.required} approvals${reply.closed ? ', gate closed' : ''})`);
        }
        const as = claimed(opts, kind);
        const c = await ctx.getClient();
        const request = { approver: as, comment: opts.comment, gate: opts.gate, via: 'cli' };
        const reply = kind === 'approve' ? await c.approve(id, request) : await c.reject(id, request);
        if (ctx.json()) return printJson({ ...reply, by: as, authenticated: false });
        print(`${reply.gate} ${reply.decision} by ${as}${UNAUTH} (${reply.approvals}/${reply.required} approvals${reply.closed ? ', gate closed' : ''})`);
      });
  }

  const descriptions = {
    abort: 'stop the release now and roll back',
    pause: 'hold the release at the next step boundary',
    resume: 'continue a paused release, or end a canary pause step without duration',
  };
  for (const kind of ['abort', 'pause', 'resume'] as const) {
    program
      .command(kind)
      .description(descriptions[kind])
      .argument('<id>', 'release ID')
      .option('--as <user>', 'development mode (no ID token): who is asking, recorded as unauthenticated', ctx.defaultIdentity())
      .option('--reason <text>')
      .option('--token-file <file>', 'a file holding your ID token')
      .action(async (id, opts) => {
        const api = gatewayApi(opts.tokenFile);
        if (api) {
          const reply = await api.call<{ by: string; authenticated: boolean; changed: boolean }>('POST', `/api/releases/${encodeURIComponent(id)}/${kind}`, { reason: opts.reason });
          if (ctx.json()) return printJson({ releaseId: id, action: kind, ...reply });
          return print(`${kind} ${reply.changed ? 'done' : 'changed nothing'}: ${id} (by ${reply.by}${reply.authenticated ? '' : UNAUTH})`);
        }
        const c = await ctx.getClient();
        await c[kind](id, opts.as, opts.reason);
        if (ctx.json()) return printJson({ releaseId: id, signal: kind, by: opts.as, authenticated: false });
        print(`${kind} sent to ${id} (by ${opts.as}${UNAUTH})`);
      });
  }

  for (const kind of ['freeze', 'unfreeze'] as const) {
    program
      .command(kind)
      .description(kind === 'freeze' ? 'stop the line: new releases start frozen, running ones hold before their next deploy' : 'lift a freeze; held releases continue')
      .option('--as <user>', 'development mode (no ID token): who is asking, recorded as unauthenticated', ctx.defaultIdentity())
      .option('--reason <text>')
      .option('--service <name>', "only this service's running releases (the line-wide freeze is untouched)")
      .option('--token-file <file>', 'a file holding your ID token')
      .action(async (opts) => {
        const api = gatewayApi(opts.tokenFile);
        let by: string;
        let ids: string[];
        if (api) {
          const reply = await api.call<{ by: string; releases: string[] }>('POST', `/api/${kind}`, { reason: opts.reason, service: opts.service });
          by = reply.by;
          ids = reply.releases;
        } else {
          const c = await ctx.getClient();
          by = `${opts.as}${UNAUTH}`;
          ids = kind === 'freeze' ? await c.freeze(by, opts.reason, opts.service) : await c.unfreeze(by, opts.service);
        }
        if (ctx.json()) return printJson({ frozen: kind === 'freeze', by, reason: opts.reason ?? null, releases: ids });
        print(kind === 'freeze' ? `frozen by ${by}; ${ids.length} running release(s) will hold before their next deploy` : `unfrozen by ${by}; ${ids.length} running release(s) signalled`);
      });
  }

  program
    .command('login')
    .description('get an ID token from your identity provider (device flow, or --username with --password-stdin) and save it for the CLI')
    .requiredOption('--issuer <url>', 'the OpenID Connect issuer', process.env.SHIPYARD_OIDC_ISSUER)
    .requiredOption('--client-id <id>', 'the client registered for the Shipyard CLI', process.env.SHIPYARD_OIDC_CLIENT_ID)
    .option('--client-secret <secret>', 'for providers that require one (SHIPYARD_OIDC_CLIENT_SECRET)', process.env.SHIPYARD_OIDC_CLIENT_SECRET)
    .option('--gateway <url>', 'the gateway decisions go through (saved with the token)', process.env.SHIPYARD_GATEWAY_URL)
    .option('--username <name>', 'password grant (scripts; the provider must allow it)')
    .option('--password-stdin', 'read the password from standard input')
    .action(async (opts) => {
      const password = opts.passwordStdin ? readFileSync(0, 'utf8').replace(/\r?\n$/, '') : undefined;
      if (opts.username && password === undefined) throw new ShipyardUsageError('--username needs --password-stdin (a password is never an argument)');
      const saved = await login({ issuer: opts.issuer, clientId: opts.clientId, clientSecret: opts.clientSecret, username: opts.username, password, prompt: (l) => process.stderr.write(`${l}\n`) });
      const file = saveLogin({ ...saved, ...(opts.gateway ? { gateway: String(opts.gateway).replace(/\/+$/, '') } : {}) });
      const who = tokenIdentity(saved.idToken);
      if (ctx.json()) return printJson({ identity: who, expiresAt: new Date(saved.expiresAt).toISOString(), file });
      print(`logged in as ${who} until ${new Date(saved.expiresAt).toISOString()} (saved to ${file})`);
    });

  program
    .command('keys')
    .description('decision signing keys')
    .command('generate')
    .description("a new Ed25519 key: <kid>.pem for the gateway (identity.signingKeys), and its public key added to the JWKS orchestrators trust (SHIPYARD_DECISION_KEYS)")
    .requiredOption('--kid <id>', 'key id, e.g. 2026-11')
    .option('--out <dir>', 'where to write <kid>.pem', '.')
    .option('--jwks <file>', 'the JWKS file to add the public key to (created when missing)', 'decision-keys.jwks.json')
    .action((opts) => {
      const { privatePem, jwks } = generateDecisionKey(opts.kid);
      const pem = join(opts.out, `${opts.kid}.pem`);
      if (existsSync(pem)) throw new ShipyardUsageError(`${pem} exists: choose another --kid`);
      const existing = existsSync(opts.jwks) ? JSON.parse(readFileSync(opts.jwks, 'utf8')) : { keys: [] };
      if (existing.keys.length) parseTrustedKeys(JSON.stringify(existing), opts.jwks);
      if (existing.keys.some((k: { kid: string }) => k.kid === opts.kid)) throw new ShipyardUsageError(`${opts.jwks} already has a key ${opts.kid}`);
      writeFileSync(pem, privatePem, { mode: 0o600 });
      writeFileSync(opts.jwks, `${JSON.stringify({ keys: [...existing.keys, ...jwks.keys] }, null, 2)}\n`);
      if (ctx.json()) return printJson({ privateKey: pem, jwks: opts.jwks, kid: opts.kid });
      print(`wrote ${pem} (private: the gateway's identity.signingKeys) and added ${opts.kid} to ${opts.jwks} (public: SHIPYARD_DECISION_KEYS on orchestrators)`);
    });

  program
    .command('token')
    .description('print your ID token (from shipyard login, SHIPYARD_ID_TOKEN or --token-file), e.g. to sign in to the dashboard')
    .option('--token-file <file>', 'a file holding your ID token')
    .action(async (opts) => {
      const creds = credentials(process.env, opts.tokenFile);
      if (!creds) throw new ShipyardUsageError('no ID token: run shipyard login, or set SHIPYARD_ID_TOKEN or --token-file');
      print(creds.token);
    });

  program
    .command('whoami')
    .description('who the gateway says you are (it verifies your ID token)')
    .option('--token-file <file>', 'a file holding your ID token')
    .action(async (opts) => {
      const api = gatewayApi(opts.tokenFile);
      if (!api) throw new ShipyardUsageError('no ID token: run shipyard login, or set SHIPYARD_ID_TOKEN or --token-file');
      const me = await api.call<{ identity: string; groups: string[]; authenticated: boolean; issuer: string }>('GET', '/api/whoami');
      if (ctx.json()) return printJson(me);
      print(`${me.identity}${me.authenticated ? '' : UNAUTH}${me.groups.length ? ` (groups: ${me.groups.join(', ')})` : ''} via ${me.issuer}`);
    });
}
